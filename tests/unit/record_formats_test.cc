// Placeholder: being written for issue 3.
#include <gtest/gtest.h>
