#include "gilscope/layout/debug_offsets.h"
