#include "gilscope/layout/debug_offsets.h"
#include "gtest/gtest.h"
TEST(DebugOffsets, Stub) { SUCCEED(); }
