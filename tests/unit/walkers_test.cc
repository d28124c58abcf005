// Thread, frame and GIL walkers on fake memory, for every supported layout.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gilscope/walkers/frame_walker.h"
#include "gilscope/walkers/gil_reader.h"
#include "gilscope/walkers/python_strings.h"
#include "gilscope/walkers/thread_walker.h"
#include "support/fake_cpython.h"
#include "support/fake_memory.h"

namespace gilscope {
namespace {

using testing::FakeCPython;
using testing::FakeMemory;

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
  const RemoteAddress inner =
      fake.AddFrame(fake.AddCode("Worker.spin", "/app/work.py", 10, 12), outer);
  const RemoteAddress main_thread =
      fake.AddThread(interp, 100, fake.AddFrame(fake.AddCode("main", "/app/main.py", 30, 31), 0));
  const RemoteAddress worker = fake.AddThread(interp, 101, inner);
  fake.SetGilHolder(interp, worker);
  const PythonTarget target = fake.Target(100);

  // WHEN the walkers read it
  auto interpreters =
      WalkInterpreters(fake.memory(), layout(), target.interpreters_head, {100, 101});
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
  EXPECT_EQ((*frames)[0], (Frame{Expected("Worker.spin"), "/app/work.py", 12}));
  EXPECT_EQ((*frames)[1], (Frame{"<module>", "/app/main.py", 5}));

  // AND the GIL names the worker as its holder
  GilLocation location = target.gil;
  if (layout().gil_model == GilModel::kPerInterpreter) location.gil_struct = (*interpreters)[0].gil;
  auto gil = ReadGil(fake.memory(), layout(), location);
  ASSERT_TRUE(gil.ok()) << gil.status();
  EXPECT_TRUE(gil->locked);
  EXPECT_EQ(gil->holder, worker);
  EXPECT_FALSE(gil->wait_ranges.empty());
}

// 3.11 and 3.12 keep the top frame behind tstate->cframe, on the thread's C stack: a caller
// that does not want a thread's stack leaves that read out, and TopFrameOf makes it later.
TEST_P(WalkersTest, TopFrameBehindCframeIsReadOnlyWhenWanted) {
  FakeCPython fake(layout());
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress top = fake.AddFrame(fake.AddCode("f", "/f.py", 1, 2), 0);
  fake.AddThread(interp, 100, top);
  const PythonTarget target = fake.Target(100);
  const bool behind_cframe = layout().thread.cframe.present() && !layout().thread.frame.present() &&
                             !layout().thread.current_frame.present();
  EXPECT_EQ(behind_cframe, layout().major == 3 && (layout().minor == 11 || layout().minor == 12));
  int asked = 0;
  const size_t reads_before = fake.memory().reads();
  auto wanted = WalkInterpreters(fake.memory(), layout(), target.interpreters_head, {100});
  const size_t reads_wanted = fake.memory().reads() - reads_before;
  auto skipped = WalkInterpreters(fake.memory(), layout(), target.interpreters_head, {100},
                                  [&](const ThreadRecord& thread) {
                                    ++asked;
                                    EXPECT_EQ(thread.native_id, 100);
                                    EXPECT_FALSE(thread.top_frame_read);
                                    return true;
                                  });
  const size_t reads_skipped = fake.memory().reads() - reads_before - reads_wanted;
  ASSERT_TRUE(wanted.ok() && skipped.ok());
  const ThreadRecord& thread = (*skipped)[0].threads[0];
  EXPECT_EQ((*wanted)[0].threads[0].top_frame, top);
  if (!behind_cframe) {  // read from the thread state itself: nothing to skip
    EXPECT_EQ(asked, 0);
    EXPECT_EQ(thread.top_frame, top);
    return;
  }
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(thread.top_frame_read);
  EXPECT_EQ(thread.top_frame, 0u);
  EXPECT_LT(reads_skipped, reads_wanted);
  absl::StatusOr<RemoteAddress> later = TopFrameOf(fake.memory(), layout(), thread);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*later, top);
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

  // Trusted, unread, in the samples that follow, up to kRecheckSamples.
  for (uint64_t i = 1; i < CodeReader::kRecheckSamples; ++i) {
    codes.BeginSample();
    const size_t reads_before = fake.memory().reads();
    ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame).ok());
    EXPECT_EQ(fake.memory().reads() - reads_before, 2u);
  }
  // Then checked again (header and its objects' stamps), without decoding it anew: fewer
  // reads than the first walk, which decoded it.
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
  fake.memory().PutBytes(line_table + layout().strings.bytes_data.offset, table.data(),
                         table.size());

  // Checked again (header and the objects it points to) once every kRecheckSamples samples:
  // the change is seen within that many.
  absl::StatusOr<std::vector<Frame>> after;
  uint64_t samples = 0;
  while (samples < CodeReader::kRecheckSamples) {
    codes.BeginSample();
    ++samples;
    after = WalkFrames(fake.memory(), layout(), codes, frame);
    ASSERT_TRUE(after.ok()) << after.status();
    if ((*after)[0].function != "alpha") break;
  }
  EXPECT_EQ((*after)[0].function, "gamma") << "unnoticed after " << samples << " samples";
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
      name + (bytes27 ? layout().strings.bytes_data.offset : layout().strings.ascii_data), "omega",
      5);
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
  const Field& back = layout().frame_model == FrameModel::kFrameObject
                          ? layout().frame_object.back
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
  const Field& back = layout().frame_model == FrameModel::kFrameObject
                          ? layout().frame_object.back
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
  fake.Put<uint64_t>(code + fake.TypeOffset(), 0xdead000);  // ob_type is not PyCode_Type
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

TEST_P(WalkersTest, ReadsWhichThreadStateIsItsOsThreadsCurrentOne) {
  // GIVEN one OS thread with a state in the main interpreter and one in a subinterpreter,
  // only the second attached (3.12+ mark it in _status; older versions have no such bit)
  FakeCPython fake(layout());
  const RemoteAddress main_interp = fake.AddInterpreter(0);
  const RemoteAddress sub = fake.AddInterpreter(1);
  const RemoteAddress caller = fake.AddThread(main_interp, 100, 0);
  const RemoteAddress inside = fake.AddThread(sub, 100, 0);
  fake.SetThreadActive(caller, false);
  fake.SetThreadActive(inside, true);
  auto interpreters =
      WalkInterpreters(fake.memory(), layout(), fake.Target(100).interpreters_head, {100});
  ASSERT_TRUE(interpreters.ok()) << interpreters.status();
  ASSERT_EQ(interpreters->size(), 2u);
  // THEN the walker says so where the layout knows the bit, and nothing where it does not
  const ThreadRecord& newest = (*interpreters)[0].threads.at(0);
  const ThreadRecord& oldest = (*interpreters)[1].threads.at(0);
  if (layout().thread.status.present() && layout().thread.status_active_bit >= 0) {
    EXPECT_EQ(newest.active, std::optional<bool>(true));
    EXPECT_EQ(oldest.active, std::optional<bool>(false));
  } else {
    EXPECT_FALSE(newest.active.has_value());
    EXPECT_FALSE(oldest.active.has_value());
  }
}

TEST_P(WalkersTest, ThreadListThatLoopsIsAnError) {
  FakeCPython fake(layout());
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress first = fake.AddThread(interp, 1, 0);
  const RemoteAddress second = fake.AddThread(interp, 2, 0);
  fake.Put<uint64_t>(first + layout().thread.next.offset, second);
  auto interpreters =
      WalkInterpreters(fake.memory(), layout(), fake.Target(1).interpreters_head, {1, 2});
  EXPECT_FALSE(interpreters.ok());
}

TEST_P(WalkersTest, UnreadableInterpreterIsAnErrorNotACrash) {
  FakeCPython fake(layout());
  fake.AddInterpreter(0);
  const PythonTarget target = fake.Target(1);
  fake.Put<uint64_t>(target.interpreters_head, 0xbad0000000);
  EXPECT_FALSE(WalkInterpreters(fake.memory(), layout(), target.interpreters_head, {}).ok());
}

// The opcode byte of the innermost frame's current instruction, whatever the frame model.
TEST_P(WalkersTest, InnermostOpcodeIsTheInnermostFramesInstruction) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
  const RemoteAddress outer = fake.AddFrame(code, 0);
  const RemoteAddress inner = fake.AddFrame(fake.AddCode("g", "/g.py", 1, 2), outer);
  fake.Put<uint8_t>(fake.InstructionOf(outer), 7);
  fake.Put<uint8_t>(fake.InstructionOf(inner), 131);
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  FrameWalkDetail detail;
  auto frames = WalkFrames(fake.memory(), layout(), codes, inner, &detail);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ(detail.innermost_opcode, 131);
  EXPECT_EQ(detail.starts_eval_call.size(), 2u);

  // A walk without detail reads no opcode, and one with it reads one byte more.
  codes.BeginSample();
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, inner).ok());
  const size_t reads = fake.memory().reads();
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, inner).ok());
  const size_t without_detail = fake.memory().reads() - reads;
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, inner, &detail).ok());
  EXPECT_EQ(fake.memory().reads() - reads - without_detail, without_detail + 1);
  EXPECT_EQ(detail.innermost_opcode, 131);
}

TEST_P(WalkersTest, UnreadableOpcodeIsMinusOneAndTheWalkSucceeds) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
  const RemoteAddress frame = fake.AddFrame(code, fake.AddFrame(code, 0));
  if (layout().frame_model == FrameModel::kFrameObject) {
    // co_code points at unmapped memory (the decoder never reads co_code itself).
    fake.Put<uint64_t>(code + layout().code.code.offset, 0x50000000);
  } else {
    // An instruction pointer past the code object, in unmapped memory.
    fake.Put<uint64_t>(frame + layout().interpreter_frame.instr_ptr.offset,
                       FakeCPython::kHeap + FakeCPython::kHeapSize + 0x1000);
  }
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  FrameWalkDetail detail;
  detail.innermost_opcode = 99;  // overwritten by the walk
  auto frames = WalkFrames(fake.memory(), layout(), codes, frame, &detail);
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_EQ(frames->size(), 2u);
  EXPECT_EQ(detail.innermost_opcode, -1);
}

TEST_P(WalkersTest, FrameThatHasNotStartedHasNoOpcode) {
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
  const RemoteAddress frame = fake.AddFrame(code, 0);
  if (layout().frame_model == FrameModel::kFrameObject) {
    fake.Put<int32_t>(frame + layout().frame_object.lasti.offset, -1);
  } else {  // 3.11, 3.12 start with prev_instr one code unit before the first instruction
    fake.Put<uint64_t>(frame + layout().interpreter_frame.instr_ptr.offset,
                       code + layout().code.code_adaptive.offset - 2);
  }
  CodeReader codes(fake.memory(), layout());
  FrameWalkDetail detail;
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame, &detail).ok());
  EXPECT_EQ(detail.innermost_opcode, -1);
}

// CPython frees a code object and its co_code, and reuses the code object's block for another
// whose names look the same: the new co_code must be where the opcode is read from.
TEST_P(WalkersTest, NewCoCodeAtTheSameCodeAddressIsNoticed) {
  if (!layout().code.code.present()) GTEST_SKIP() << "3.11+ keep bytecode in the code object";
  FakeCPython fake(layout());
  const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
  const RemoteAddress frame = fake.AddFrame(code, 0);
  fake.Put<uint8_t>(fake.InstructionOf(frame), 100);
  CodeReader codes(fake.memory(), layout(), FakeCPython::kCodeType);
  codes.BeginSample();
  FrameWalkDetail detail;
  ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame, &detail).ok());
  EXPECT_EQ(detail.innermost_opcode, 100);

  fake.Put<uint64_t>(code + layout().code.code.offset, fake.AddBytes(std::string(16, '\x5a')));
  for (uint64_t i = 0; i < CodeReader::kRecheckSamples && detail.innermost_opcode == 100; ++i) {
    codes.BeginSample();
    ASSERT_TRUE(WalkFrames(fake.memory(), layout(), codes, frame, &detail).ok());
  }
  EXPECT_EQ(detail.innermost_opcode, 0x5a);
}

TEST_P(WalkersTest, EvalFunctionAndCallOpcodesAreSet) {
  ASSERT_NE(layout().eval_function, nullptr);
  EXPECT_FALSE(layout().native_call_opcodes.empty());
  EXPECT_FALSE(layout().CallsNative(-1));
  EXPECT_FALSE(layout().CallsNative(256));
  // The eval function is what merging pairs with Python frames, never folded as plumbing,
  // except 2.7's PyEval_EvalFrameEx, which is 3.x's wrapper of the same name.
  if (layout().major >= 3) {
    EXPECT_FALSE(IsCallPlumbing(layout().eval_function));
  }
  EXPECT_FALSE(IsGilAcquireFunction(layout().eval_function));
}

INSTANTIATE_TEST_SUITE_P(AllVersions, WalkersTest, ::testing::ValuesIn(AllLayouts()),
                         [](const auto& info) {
                           return absl::StrCat("Python", info.param->major, info.param->minor,
                                               info.param->free_threaded ? "t" : "");
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

const PythonLayout& LayoutOf(int major, int minor) {
  const PythonLayout* layout = FindLayout(major, minor, 99);
  if (layout == nullptr) std::abort();
  return *layout;
}

std::vector<bool> StartsOf(const PythonLayout& layout, FakeCPython& fake, RemoteAddress top,
                           std::vector<std::string>* names) {
  CodeReader codes(fake.memory(), layout);
  FrameWalkDetail detail;
  auto frames = WalkFrames(fake.memory(), layout, codes, top, &detail);
  EXPECT_TRUE(frames.ok()) << frames.status();
  if (!frames.ok()) return {};
  for (const Frame& frame : *frames) names->push_back(frame.function.str());
  EXPECT_EQ(detail.starts_eval_call.size(), frames->size());
  return detail.starts_eval_call;
}

TEST(StartsEvalCallTest, EveryFrameObjectIsACallOfTheLoop) {
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->frame_model != FrameModel::kFrameObject) continue;
    SCOPED_TRACE(layout->tested_on);
    FakeCPython fake(*layout);
    const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
    const RemoteAddress top = fake.AddFrame(code, fake.AddFrame(code, fake.AddFrame(code, 0)));
    std::vector<std::string> names;
    EXPECT_EQ(StartsOf(*layout, fake, top, &names), (std::vector<bool>{true, true, true}));
  }
}

TEST(StartsEvalCallTest, Python311FollowsIsEntry) {
  const PythonLayout& layout = LayoutOf(3, 11);
  FakeCPython fake(layout);
  // GIVEN <module> (entry) -> a -> b (entry: a called into C, which called b) -> c
  const RemoteAddress module = fake.AddFrame(fake.AddCode("<module>", "/m.py", 1, 1), 0);
  const RemoteAddress a = fake.AddFrame(fake.AddCode("a", "/m.py", 1, 1), module);
  const RemoteAddress b = fake.AddFrame(fake.AddCode("b", "/m.py", 1, 1), a);
  const RemoteAddress c = fake.AddFrame(fake.AddCode("c", "/m.py", 1, 1), b);
  fake.SetEntryFrame(module, true);
  fake.SetEntryFrame(b, true);
  std::vector<std::string> names;
  // THEN the groups are [c, b] and [a, <module>]
  EXPECT_EQ(StartsOf(layout, fake, c, &names), (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(names, (std::vector<std::string>{"c", "b", "a", "<module>"}));
}

TEST(StartsEvalCallTest, Python312AndLaterStartAFrameInsideEachShim) {
  int versions_with_shims = 0;
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->interpreter_frame.owner_c_stack < 0) continue;
    SCOPED_TRACE(layout->tested_on);
    ++versions_with_shims;
    FakeCPython fake(*layout);
    auto code = [&](const char* name) { return fake.AddCode(name, "/m.py", 1, 1); };
    // GIVEN, outermost first: outer (no shim: the chain just ends), shim, mid2, mid1, shim,
    // shim, inner, and a shim on top of all (C code that has not pushed a frame yet)
    const RemoteAddress outer = fake.AddFrame(code("outer"), 0);
    const RemoteAddress mid2 = fake.AddFrame(code("mid2"), fake.AddShimFrame(outer));
    const RemoteAddress mid1 = fake.AddFrame(code("mid1"), mid2);
    const RemoteAddress inner =
        fake.AddFrame(code("inner"), fake.AddShimFrame(fake.AddShimFrame(mid1)));
    const RemoteAddress top = fake.AddShimFrame(inner);
    std::vector<std::string> names;
    EXPECT_EQ(StartsOf(*layout, fake, top, &names), (std::vector<bool>{true, false, true, true}));
    EXPECT_EQ(names, (std::vector<std::string>{"inner", "mid1", "mid2", "outer"}));

    // AND an outermost frame with its entry shim is one group too
    const RemoteAddress lone = fake.AddFrame(code("lone"), fake.AddShimFrame(0));
    names.clear();
    EXPECT_EQ(StartsOf(*layout, fake, lone, &names), (std::vector<bool>{true}));
  }
  EXPECT_GE(versions_with_shims, 2);  // 3.12 and 3.13
}

TEST(StartsEvalCallTest, FailedWalkLeavesNoDetail) {
  for (const PythonLayout* layout : AllLayouts()) {
    SCOPED_TRACE(layout->tested_on);
    FakeCPython fake(*layout);
    // Two good frames, then a caller pointer into unmapped memory.
    const RemoteAddress code = fake.AddCode("f", "/f.py", 1, 2);
    const RemoteAddress top = fake.AddFrame(code, fake.AddFrame(code, 0xbad0000000));
    fake.Put<uint8_t>(fake.InstructionOf(top), 1);
    FrameWalkDetail detail;
    detail.starts_eval_call = {true, true, true};
    detail.innermost_opcode = 5;
    CodeReader codes(fake.memory(), *layout);
    EXPECT_FALSE(WalkFrames(fake.memory(), *layout, codes, top, &detail).ok());
    EXPECT_TRUE(detail.starts_eval_call.empty());
    EXPECT_EQ(detail.innermost_opcode, -1);
  }
}

TEST(NativeFunctionsTest, CallPlumbingMatchesNamesAndTheirClones) {
  struct Case {
    const char* function;
    bool plumbing;
  };
  const Case cases[] = {
      {"PyObject_Call", true},
      {"_PyObject_MakeTpCall", true},
      {"cfunction_call.cold", true},
      {"method_vectorcall_O.part.0", true},
      {"_PyObject_Call_Prepend.isra.0", true},
      {"_PyFunction_Vectorcall", true},
      {"_PyEval_Vector", true},
      {"PyEval_EvalFrameEx", true},  // 3.x's wrapper
      {"gen_send_ex2", true},
      {"_PyEval_EvalFrameDefault", false},  // the eval loop: merged, not folded
      {"_PyEval_EvalFrameDefault.cold", false},
      {"PyObject_CallFoo", false},  // names match whole, not as prefixes
      {"PyObject_Cal", false},
      {"builtin_len", false},
      {"take_gil", false},
      {"", false},
      {".cold", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsCallPlumbing(c.function), c.plumbing) << c.function;
  }
}

TEST(NativeFunctionsTest, GilAcquireMatchesNamesAndTheirClones) {
  struct Case {
    const char* function;
    bool acquire;
  };
  const Case cases[] = {
      {"take_gil", true},
      {"take_gil.constprop.0", true},
      {"take_gil.part.0.isra.0", true},
      {"PyEval_RestoreThread", true},
      {"PyEval_AcquireThread", true},
      {"PyGILState_Ensure", true},
      {"_PyThreadState_Attach", true},
      {"drop_gil", false},               // the holder handing over
      {"_Py_HandlePending", false},      // also runs signal handlers and the GC
      {"PyThread_acquire_lock", false},  // every lock, not only 2.7's GIL
      {"take_gil_", false},
      {"PyEval_SaveThread", false},
      {"", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsGilAcquireFunction(c.function), c.acquire) << c.function;
  }
}

TEST(NativeFunctionsTest, NoFunctionIsBothPlumbingAndGilAcquire) {
  for (absl::string_view name : CallPlumbingFunctions()) {
    EXPECT_FALSE(IsGilAcquireFunction(name)) << name;
  }
  for (absl::string_view name : GilAcquireFunctions()) {
    EXPECT_TRUE(IsGilAcquireFunction(name)) << name;
    EXPECT_FALSE(IsCallPlumbing(name)) << name;
  }
}

static_assert(OpcodeSet{0, 63, 64, 255}.contains(255) && OpcodeSet{0, 63, 64}.contains(63) &&
                  !OpcodeSet{0, 63, 65}.contains(64) && !OpcodeSet{300, -2}.contains(44) &&
                  OpcodeSet{}.empty(),
              "OpcodeSet works at compile time");

TEST(CallOpcodesTest, KnownNumbersPerVersion) {
  struct Case {
    int major, minor, opcode;
    bool calls;
    const char* name;
  };
  const Case cases[] = {
      {2, 7, 131, true, "CALL_FUNCTION"},
      {2, 7, 140, true, "CALL_FUNCTION_VAR"},
      {2, 7, 142, true, "CALL_FUNCTION_VAR_KW"},
      {2, 7, 161, false, "(unused)"},
      {3, 6, 142, true, "CALL_FUNCTION_EX"},
      {3, 6, 151, false, "BUILD_MAP_UNPACK_WITH_CALL"},
      {3, 6, 161, false, "(no CALL_METHOD before 3.7)"},
      {3, 7, 161, true, "CALL_METHOD"},
      {3, 8, 162, false, "CALL_FINALLY"},
      {3, 10, 141, true, "CALL_FUNCTION_KW"},
      {3, 11, 171, true, "CALL"},
      {3, 11, 22, true, "CALL_ADAPTIVE"},
      {3, 11, 76, true, "PRECALL_NO_KW_BUILTIN_O"},
      {3, 11, 66, true, "PRECALL_BUILTIN_CLASS"},
      {3, 11, 166, false, "PRECALL"},
      {3, 11, 64, false, "PRECALL_ADAPTIVE"},
      {3, 11, 65, false, "PRECALL_BOUND_METHOD"},
      {3, 11, 143, false, "PRECALL_PYFUNC"},
      {3, 11, 23, false, "CALL_PY_EXACT_ARGS"},
      {3, 11, 131, false, "(3.10's CALL_FUNCTION, no longer an opcode)"},
      {3, 12, 171, true, "CALL"},
      {3, 12, 40, true, "CALL_NO_KW_BUILTIN_O"},
      {3, 12, 241, true, "INSTRUMENTED_CALL"},
      {3, 12, 23, false, "CALL_PY_EXACT_ARGS"},
      {3, 12, 28, false, "CALL_BOUND_METHOD_EXACT_ARGS"},
      {3, 12, 173, false, "CALL_INTRINSIC_1"},
      {3, 13, 53, true, "CALL"},
      {3, 13, 57, true, "CALL_KW"},
      {3, 13, 176, true, "CALL_NON_PY_GENERAL"},
      {3, 13, 245, true, "INSTRUMENTED_CALL_KW"},
      {3, 13, 162, false, "CALL_ALLOC_AND_ENTER_INIT"},
      {3, 13, 177, false, "CALL_PY_EXACT_ARGS"},
      {3, 13, 55, false, "CALL_INTRINSIC_1"},
      {3, 13, 171, true, "CALL_LIST_APPEND"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(LayoutOf(c.major, c.minor).CallsNative(c.opcode), c.calls)
        << c.major << "." << c.minor << " " << c.name << " (" << c.opcode << ")";
  }
  EXPECT_STREQ(LayoutOf(2, 7).eval_function, "PyEval_EvalFrameEx");
  EXPECT_STREQ(LayoutOf(3, 8).eval_function, "_PyEval_EvalFrameDefault");
}

// 3.6 creates its GIL when a second thread starts (gil_locked stays -1 until then): a lone
// thread running bytecode holds the interpreter all the same, as its current thread state.
TEST(Gil36Test, LoneThreadBeforeTheGilExistsIsItsHolder) {
  const PythonLayout* layout = FindLayout(3, 6, 15);
  ASSERT_NE(layout, nullptr);
  FakeCPython fake(*layout);
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress thread = fake.AddThread(interp, 100, 0);
  const PythonTarget target = fake.Target(100);
  fake.Put<int32_t>(target.gil.locked, -1);  // not created

  // WHILE the thread runs bytecode it is the current thread state: the holder
  fake.Put<uint64_t>(target.gil.tstate_current, thread);
  absl::StatusOr<GilState> running = ReadGil(fake.memory(), *layout, target.gil);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_TRUE(running->locked);
  EXPECT_EQ(running->holder, thread);

  // AND while it blocks with "the GIL" released there is no current state: nobody holds it
  fake.Put<uint64_t>(target.gil.tstate_current, 0);
  absl::StatusOr<GilState> blocked = ReadGil(fake.memory(), *layout, target.gil);
  ASSERT_TRUE(blocked.ok()) << blocked.status();
  EXPECT_FALSE(blocked->locked);
  EXPECT_EQ(blocked->holder, 0u);

  // AND once created (gil_locked 0 or 1) the GIL's own fields decide, not the current state
  fake.Put<uint64_t>(target.gil.tstate_current, thread);
  fake.Put<int32_t>(target.gil.locked, 0);
  absl::StatusOr<GilState> created = ReadGil(fake.memory(), *layout, target.gil);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->locked);
  EXPECT_EQ(created->holder, 0u);
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
