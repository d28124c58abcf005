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
  codes.BeginSample();
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame).ok());
  const size_t reads_first = fake.memory().reads();
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame).ok());
  // Checked once in this sample: the second walk reads only the two frames.
  EXPECT_EQ(fake.memory().reads() - reads_first, 2u);
  EXPECT_EQ(codes.cached(), 1u);

  // A new sample checks it again (header and its objects' stamps), without decoding it anew:
  // fewer reads than the first walk, which decoded it.
  codes.BeginSample();
  const size_t reads_second = fake.memory().reads();
  auto frames = WalkFrames(fake.memory(), layout(), codes, frame);
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_EQ((*frames)[0].function, "f");
  EXPECT_LT(fake.memory().reads() - reads_second, reads_first);
}

// CPython's allocator hands a freed block out again first: a code object, and the strings it
// points to, can be replaced by others at the very same addresses. Overwriting them in place
// stands for that.
TEST_P(WalkersTest, CodeObjectReplacedAtTheSameAddressesIsDecodedAgain) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("alpha", "/one.py", 10, 12);
  const RemoteAddress frame = fake.AddFrame(code, 0);
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  codes.BeginSample();
  auto before = WalkFrames(fake.memory(), layout(), codes, frame);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ((*before)[0].function, "alpha");
  EXPECT_EQ((*before)[0].line, 12);

  // Same pointers, same sizes; other names and another line table.
  const PythonLayout::Code& c = layout().code;
  const bool bytes27 = layout().string_model == StringModel::kPyString27;
  auto text_of = [&](const Field& field) {  // where the str's characters are
    const RemoteAddress object = *ReadValue<uint64_t>(fake.memory(), code + field.offset);
    return object + (bytes27 ? layout().strings.bytes_data.offset : layout().strings.ascii_data);
  };
  fake.memory().PutBytes(text_of(c.name), "gamma", 5);
  if (c.qualname.present()) fake.memory().PutBytes(text_of(c.qualname), "gamma", 5);
  const std::string table = fake.LineTable(5);
  const RemoteAddress line_table = *ReadValue<uint64_t>(fake.memory(), code + c.line_table.offset);
  fake.memory().PutBytes(line_table + layout().strings.bytes_data.offset, table.data(), table.size());

  codes.BeginSample();
  auto after = WalkFrames(fake.memory(), layout(), codes, frame);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)[0].function, "gamma");
  EXPECT_EQ((*after)[0].line, 15);
}

TEST_P(WalkersTest, NewCodeObjectWithAReusedStringAddressGetsItsOwnName) {
  FakeCPython fake(layout());
  const RemoteAddress first = fake.AddCode("alpha", "/one.py", 1, 1);
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, fake.AddFrame(first, 0)).ok());
  // A second code object whose name sits where the first one's did, now saying "omega".
  const PythonLayout::Code& c = layout().code;
  const RemoteAddress second = fake.AddCode("zzzzz", "/two.py", 1, 1);
  const RemoteAddress name = *ReadValue<uint64_t>(fake.memory(), first + c.name.offset);
  const bool bytes27 = layout().string_model == StringModel::kPyString27;
  fake.memory().PutBytes(
      name + (bytes27 ? layout().strings.bytes_data.offset : layout().strings.ascii_data), "omega", 5);
  fake.Put<uint64_t>(second + c.name.offset, name);
  if (c.qualname.present()) fake.Put<uint64_t>(second + c.qualname.offset, name);
  auto frames = WalkFrames(fake.memory(), layout(), codes, fake.AddFrame(second, 0));
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_EQ((*frames)[0].function, "omega");
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

TEST_P(WalkersTest, LongLoopAfterAPrefixIsAnError) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 1);
  std::vector<RemoteAddress> chain;  // chain[i] calls chain[i - 1]
  RemoteAddress frame = 0;
  for (int i = 0; i < 40; ++i) chain.push_back(frame = fake.AddFrame(code, frame));
  const Field& back = layout().frame_model == FrameModel::kFrameObject ? layout().frame_object.back
                                                                        : layout().interpreter_frame.previous;
  fake.Put<uint64_t>(chain[0] + back.offset, chain[25]);  // 39 -> ... -> 0 -> 25 -> ... -> 0
  CodeReader codes(fake.memory(), layout());
  auto frames = WalkFrames(fake.memory(), layout(), codes, chain.back());
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
