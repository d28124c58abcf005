// Thread, frame and GIL walkers on fake memory, for every supported layout.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gilscope/walkers/frame_walker.h"
#include "gilscope/walkers/gil_reader.h"
#include "gilscope/walkers/python_strings.h"
#include "gilscope/walkers/thread_walker.h"
#include "support/fake_cpython.h"

namespace gilscope {
namespace {

using testing::FakeCPython;

class WalkersTest : public ::testing::TestWithParam<const PythonLayout*> {
 protected:
  const PythonLayout& layout() const { return *GetParam(); }
  // Where the version has no co_qualname, the walker reports the bare name.
  std::string Expected(const std::string& qualname) const {
    if (layout().code.qualname.present()) return qualname;
    return qualname.substr(qualname.rfind('.') + 1);
  }
};

TEST_P(WalkersTest, WalksThreadsAndFramesInnermostFirst) {
  // GIVEN an interpreter with a worker thread two frames deep and the main thread one deep
  FakeCPython fake(layout());
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress outer = fake.AddFrame(fake.AddCode("<module>", "/app/main.py", 1, 5), 0);
  const RemoteAddress inner = fake.AddFrame(fake.AddCode("Worker.spin", "/app/work.py", 10, 12), outer);
  const RemoteAddress main_thread = fake.AddThread(interp, 100, fake.AddFrame(fake.AddCode("main", "/app/main.py", 30, 31), 0));
  const RemoteAddress worker = fake.AddThread(interp, 101, inner);
  fake.SetGilHolder(interp, worker);
  const PythonTarget target = fake.Target(100);

  // WHEN the walkers read it
  auto interpreters = WalkInterpreters(fake.memory(), layout(), target.interpreters_head, {100, 101});
  ASSERT_TRUE(interpreters.ok()) << interpreters.status();
  ASSERT_EQ(interpreters->size(), 1u);
  const auto& threads = (*interpreters)[0].threads;
  ASSERT_EQ(threads.size(), 2u);

  // THEN threads come newest first with their OS ids, and stacks innermost first
  EXPECT_EQ(threads[0].thread_state, worker);
  EXPECT_EQ(threads[0].native_id, 101);
  EXPECT_EQ(threads[1].thread_state, main_thread);
  EXPECT_EQ(threads[1].native_id, 100);
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  auto frames = WalkFrames(fake.memory(), layout(), codes, threads[0].top_frame);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0], (PythonFrame{Expected("Worker.spin"), "/app/work.py", 12}));
  EXPECT_EQ((*frames)[1], (PythonFrame{"<module>", "/app/main.py", 5}));

  // AND the GIL names the worker as its holder
  GilLocation location = target.gil;
  if (layout().gil_model == GilModel::kPerInterpreter) location.gil_struct = (*interpreters)[0].gil;
  auto gil = ReadGil(fake.memory(), layout(), location);
  ASSERT_TRUE(gil.ok()) << gil.status();
  EXPECT_TRUE(gil->locked);
  EXPECT_EQ(gil->holder, worker);
  EXPECT_FALSE(gil->wait_ranges.empty());
}

TEST_P(WalkersTest, CachedCodeIsReadOnce) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
  const RemoteAddress frame = fake.AddFrame(code, fake.AddFrame(code, 0));
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame).ok());
  const size_t reads_first = fake.memory().reads();
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame).ok());
  // The second walk reads only frames and code headers: no strings, no line tables.
  EXPECT_EQ(fake.memory().reads() - reads_first, 4u);
  EXPECT_EQ(codes.cached(), 1u);
}

TEST_P(WalkersTest, FrameChainThatLoopsIsAnError) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 1);
  const RemoteAddress a = fake.AddFrame(code, 0);
  const RemoteAddress b = fake.AddFrame(code, a);
  const Field& back = layout().frame_model == FrameModel::kFrameObject ? layout().frame_object.back
                                                                        : layout().interpreter_frame.previous;
  fake.Put<uint64_t>(a + back.offset, b);  // a -> b -> a
  CodeReader codes(fake.memory(), layout());
  auto frames = WalkFrames(fake.memory(), layout(), codes, b);
  ASSERT_FALSE(frames.ok());
  EXPECT_NE(frames.status().message().find("loops"), std::string::npos) << frames.status();
}

TEST_P(WalkersTest, AbsurdlyDeepChainIsAnError) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 1);
  RemoteAddress frame = 0;
  for (int i = 0; i <= kMaxFrames; ++i) frame = fake.AddFrame(code, frame);
  CodeReader codes(fake.memory(), layout());
  auto frames = WalkFrames(fake.memory(), layout(), codes, frame);
  ASSERT_FALSE(frames.ok());
  EXPECT_NE(frames.status().message().find("deeper"), std::string::npos) << frames.status();
}

TEST_P(WalkersTest, NonCodeObjectIsRejected) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 1);
  fake.Put<uint64_t>(code + 8, 0xdead000);  // ob_type is not PyCode_Type
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  EXPECT_FALSE(WalkFrames(fake.memory(), layout(), codes, fake.AddFrame(code, 0)).ok());
}

TEST_P(WalkersTest, HugeNameIsCutNotCopied) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode(std::string(100000, 'n'), "/f.py", 1, 1);
  CodeReader codes(fake.memory(), layout());
  auto frames = WalkFrames(fake.memory(), layout(), codes, fake.AddFrame(code, 0));
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_LE((*frames)[0].function.size(), kMaxNameBytes + 3);
}

TEST_P(WalkersTest, ThreadListThatLoopsIsAnError) {
  FakeCPython fake(layout());
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress first = fake.AddThread(interp, 1, 0);
  const RemoteAddress second = fake.AddThread(interp, 2, 0);
  fake.Put<uint64_t>(first + layout().thread.next.offset, second);
  auto interpreters = WalkInterpreters(fake.memory(), layout(), fake.Target(1).interpreters_head, {1, 2});
  EXPECT_FALSE(interpreters.ok());
}

TEST_P(WalkersTest, UnreadableInterpreterIsAnErrorNotACrash) {
  FakeCPython fake(layout());
  fake.AddInterpreter(0);
  const PythonTarget target = fake.Target(1);
  fake.Put<uint64_t>(target.interpreters_head, 0xbad0000000);
  EXPECT_FALSE(WalkInterpreters(fake.memory(), layout(), target.interpreters_head, {}).ok());
}

INSTANTIATE_TEST_SUITE_P(AllVersions, WalkersTest, ::testing::ValuesIn(AllLayouts()),
                         [](const auto& info) {
                           return absl::StrCat("Python", info.param->major, info.param->minor);
                         });

TEST(ShimFrameTest, CStackShimFramesAreSkipped) {
  int versions_with_shims = 0;
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->interpreter_frame.owner_c_stack < 0) continue;  // no shim frames before 3.12
    SCOPED_TRACE(layout->tested_on);
    ++versions_with_shims;
    FakeCPython fake(*layout);
    const RemoteAddress outer = fake.AddFrame(fake.AddCode("outer", "/f.py", 1, 2), 0);
    const RemoteAddress shim = fake.AddShimFrame(outer);
    const RemoteAddress inner = fake.AddFrame(fake.AddCode("inner", "/f.py", 5, 6), shim);
    CodeReader codes(fake.memory(), *layout);
    auto frames = WalkFrames(fake.memory(), *layout, codes, inner);
    ASSERT_TRUE(frames.ok()) << frames.status();
    ASSERT_EQ(frames->size(), 2u);
    EXPECT_EQ((*frames)[0].function, "inner");
    EXPECT_EQ((*frames)[1].function, "outer");
  }
  EXPECT_GE(versions_with_shims, 2);  // 3.12 and 3.13
}

TEST(TidFromPthreadTest, FindsTidAtAnotherOffsetWhenGlibcMovedIt) {
  FakeMemory memory;
  const RemoteAddress pthread = 0x20000;
  memory.MapZeroed(pthread, 0x800);
  memory.Put<uint64_t>(pthread + 16, pthread);  // tcbhead_t.self
  memory.Put<int32_t>(pthread + 0x2e0, 4242);
  int offset = 0;
  EXPECT_EQ(TidFromPthread(memory, pthread, {4242}, &offset), 4242);
  EXPECT_EQ(offset, 0x2e0);
}

TEST(TidFromPthreadTest, RefusesSomethingThatIsNotAPthread) {
  FakeMemory memory;
  memory.MapZeroed(0x20000, 0x800);
  memory.Put<int32_t>(0x20000 + 0x2e0, 4242);  // no self pointer: not a struct pthread
  int offset = 0;
  EXPECT_EQ(TidFromPthread(memory, 0x20000, {4242}, &offset), 0);
}

}  // namespace
}  // namespace gilscope
