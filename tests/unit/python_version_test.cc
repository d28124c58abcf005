#include <gtest/gtest.h>

#include "gilscope/layout/python_layout.h"
#include "gilscope/locate/python_target.h"

namespace gilscope {
namespace {

TEST(ParseVersionTextTest, GetVersionBufferAndPlain) {
  auto version = ParseVersionText("3.8.18 (default, Nov 22 2026, 03:00:00) \n[GCC 12.2.0]");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->major, 3);
  EXPECT_EQ(version->minor, 8);
  EXPECT_EQ(version->micro, 18);
  EXPECT_EQ(version->text, "3.8.18");
  auto rc = ParseVersionText("3.15.0rc1");
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->micro, 0);
  EXPECT_FALSE(ParseVersionText("3.x").ok());
  EXPECT_FALSE(ParseVersionText("hello").ok());
  EXPECT_FALSE(ParseVersionText("").ok());
}

TEST(VersionFromHexTest, DecodesPyVersion) {
  EXPECT_EQ(VersionFromHex(0x030C01F0).text, "3.12.1");
  EXPECT_EQ(VersionFromHex(0x030F00C1).text, "3.15.0rc1");
  EXPECT_EQ(VersionFromHex(0x030E00A3).text, "3.14.0a3");
}

TEST(FindLayoutTest, SupportedAndRefused) {
  EXPECT_NE(FindLayout(2, 7, 18), nullptr);
  EXPECT_NE(FindLayout(3, 13, 0), nullptr);
  EXPECT_EQ(FindLayout(3, 7, 3), nullptr);  // 3.7.0-3.7.3 had another _PyRuntime layout
  EXPECT_NE(FindLayout(3, 7, 4), nullptr);
  EXPECT_EQ(FindLayout(3, 5, 9), nullptr);
  EXPECT_EQ(FindLayout(3, 99, 0), nullptr);
}

TEST(FindLayoutTest, EveryLayoutIsComplete) {
  for (const PythonLayout* layout : AllLayouts()) {
    SCOPED_TRACE(layout->tested_on);
    EXPECT_TRUE(layout->interpreter.next.present());
    EXPECT_TRUE(layout->interpreter.threads_head.present());
    EXPECT_TRUE(layout->thread.next.present());
    EXPECT_TRUE(layout->thread.interp.present());
    EXPECT_TRUE(layout->thread.frame.present() || layout->thread.cframe.present() ||
                layout->thread.current_frame.present());
    EXPECT_TRUE(layout->code.name.present());
    EXPECT_TRUE(layout->code.filename.present());
    EXPECT_TRUE(layout->code.line_table.present());
    if (layout->frame_model == FrameModel::kInterpreterFrame) {
      EXPECT_TRUE(layout->code.code_adaptive.present());
    }
    if (layout->gil_model == GilModel::kInRuntime ||
        layout->gil_model == GilModel::kPerInterpreter) {
      // struct _gil_runtime_state; free-threaded builds put an `enabled` word first.
      EXPECT_EQ(layout->gil.size, layout->free_threaded ? 216 : 208);
      EXPECT_EQ(layout->gil.enabled.present(), layout->free_threaded);
    }
  }
}

}  // namespace
}  // namespace gilscope
