#include "gilscope/render/safe_text.h"

#include <gtest/gtest.h>

namespace gilscope {
namespace {

TEST(TerminalSafeTest, EscapesControlsAndKeepsText) {
  EXPECT_EQ(TerminalSafe("spin_forever"), "spin_forever");
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");  // UTF-8 kept
  EXPECT_EQ(TerminalSafe("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(TerminalSafe(std::string("a\0b\n\x7f", 5)), "a\\x00b\\x0a\\x7f");
  EXPECT_EQ(TerminalSafe("\xc2\x9b"
                         "2J"),
            "\\xc2\\x9b2J");                                   // C1 CSI as UTF-8
  EXPECT_EQ(TerminalSafe("\xff\xfe"), "\\xff\\xfe");           // invalid UTF-8
  EXPECT_EQ(TerminalSafe("\xe2\x9c"), "\\xe2\\x9c");           // truncated sequence
  EXPECT_EQ(TerminalSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

}  // namespace
}  // namespace gilscope
