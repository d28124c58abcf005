#include "gilscope/sampler/stack_merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gilscope/sampler/thread_state.h"

namespace gilscope {
namespace {

using ::testing::ElementsAre;

const PythonLayout& Layout(int major, int minor) {
  const PythonLayout* layout = FindLayout(major, minor, 99);
  EXPECT_NE(layout, nullptr);
  return *layout;
}

constexpr char kLibpython[] = "/usr/lib/libpython3.12.so.1.0";

NativeFrame Interp(const std::string& function) {
  return NativeFrame{
      .ip = 0x1000, .function = function, .object = kLibpython, .in_interpreter = true};
}
NativeFrame Other(const std::string& function, const std::string& object) {
  return NativeFrame{.ip = 0x2000, .function = function, .object = object};
}
Frame Py(const std::string& function, int line) { return Frame{function, "app.py", line}; }
Frame C(const std::string& function, const std::string& object) {
  return Frame{function, object, -1, FrameKind::kNative};
}

// main -> eval [outer, middle] -> call plumbing -> eval [inner] -> C extension.
TEST(MergeStacks, ReplacesEachEvalFrameWithItsGroupOfPythonFrames) {
  const std::vector<Frame> python = {Py("inner", 30), Py("middle", 20), Py("outer", 10)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true, false, true};  // 3.11+: two eval calls
  NativeStack native;
  native.frames = {Other("crunch", "/ext/_fast.so"),
                   Interp("cfunction_call"),
                   Interp("_PyEval_EvalFrameDefault"),
                   Interp("_PyObject_VectorcallTstate"),
                   Interp("_PyEval_EvalFrameDefault"),
                   Interp("PyEval_EvalCode"),
                   Interp("Py_BytesMain"),
                   Other("main", "/usr/bin/python3.12"),
                   Other("__libc_start_call_main", "/lib/libc.so.6")};
  const MergedStack merged = MergeStacks(python, detail, native, Layout(3, 12), false);
  EXPECT_THAT(merged.frames,
              ElementsAre(C("crunch", "_fast.so"), Py("inner", 30), Py("middle", 20),
                          Py("outer", 10), C("Py_BytesMain", "libpython3.12.so.1.0"),
                          C("main", "python3.12"), C("__libc_start_call_main", "libc.so.6")));
  EXPECT_FALSE(merged.mismatched);
  EXPECT_EQ(merged.leaf.frames, 2);  // crunch and cfunction_call, plumbing included
  EXPECT_TRUE(merged.leaf.outside_interpreter);
  EXPECT_EQ(merged.leaf.function, "crunch");
}

TEST(MergeStacks, LibcAndTheDynamicLinkerAreNobodysOwnCode) {
  NativeStack native;
  native.frames = {Other("__tls_get_addr", "/lib64/ld-linux-x86-64.so.2"), Interp("tuple_alloc"),
                   Interp("_PyTuple_FromArray"), Interp("_PyEval_EvalFrameDefault")};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  EXPECT_FALSE(
      MergeStacks({Py("f", 1)}, detail, native, Layout(3, 13), false).leaf.outside_interpreter);
  native.frames[0] = Other("memcpy", "/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_FALSE(
      MergeStacks({Py("f", 1)}, detail, native, Layout(3, 13), false).leaf.outside_interpreter);
}

TEST(MergeStacks, KeepsPlumbingWhenAsked) {
  const std::vector<Frame> python = {Py("f", 1)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  NativeStack native;
  native.frames = {Interp("cfunction_call"), Interp("_PyEval_EvalFrameDefault"),
                   Interp("PyEval_EvalCode")};
  EXPECT_THAT(MergeStacks(python, detail, native, Layout(3, 12), true).frames,
              ElementsAre(C("cfunction_call", "libpython3.12.so.1.0"), Py("f", 1),
                          C("PyEval_EvalCode", "libpython3.12.so.1.0")));
}

TEST(MergeStacks, EveryFrameIsItsOwnEvalCallOnFrameObjectVersions) {
  const std::vector<Frame> python = {Py("g", 2), Py("f", 1)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true, true};
  NativeStack native;
  native.frames = {Interp("_PyEval_EvalFrameDefault"), Interp("function_code_fastcall"),
                   Interp("_PyEval_EvalFrameDefault")};
  EXPECT_THAT(MergeStacks(python, detail, native, Layout(3, 8), false).frames,
              ElementsAre(Py("g", 2), Py("f", 1)));
}

TEST(MergeStacks, TwoSevenEvalFunction) {
  const std::vector<Frame> python = {Py("f", 1)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  NativeStack native;
  native.frames = {Interp("PyEval_EvalFrameEx"), Interp("PyEval_EvalCodeEx")};
  EXPECT_THAT(MergeStacks(python, detail, native, Layout(2, 7), false).frames,
              ElementsAre(Py("f", 1)));
}

TEST(MergeStacks, MatchesGccClonesOfTheEvalLoop) {
  const std::vector<Frame> python = {Py("f", 1)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  NativeStack native;
  native.frames = {Interp("_PyEval_EvalFrameDefault.cold")};
  EXPECT_THAT(MergeStacks(python, detail, native, Layout(3, 12), false).frames,
              ElementsAre(Py("f", 1)));
}

TEST(MergeStacks, LeftoverPythonFramesGoOutermostAndAreFlagged) {
  const std::vector<Frame> python = {Py("g", 2), Py("f", 1)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true, true};
  NativeStack native;
  native.frames = {Other("work", "/ext/x.so"), Interp("_PyEval_EvalFrameDefault")};
  native.error = "no unwind info";
  const MergedStack merged = MergeStacks(python, detail, native, Layout(3, 10), false);
  EXPECT_THAT(merged.frames, ElementsAre(C("work", "x.so"), Py("g", 2), Py("f", 1)));
  EXPECT_TRUE(merged.mismatched);
}

TEST(MergeStacks, SurplusEvalFramesStayNative) {
  const std::vector<Frame> python = {Py("f", 1)};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  NativeStack native;
  native.frames = {Interp("_PyEval_EvalFrameDefault"), Interp("_PyEval_EvalFrameDefault")};
  const MergedStack merged = MergeStacks(python, detail, native, Layout(3, 12), false);
  EXPECT_THAT(merged.frames,
              ElementsAre(Py("f", 1), C("_PyEval_EvalFrameDefault", "libpython3.12.so.1.0")));
  EXPECT_TRUE(merged.mismatched);
}

TEST(MergeStacks, NoNativeStackGivesThePythonStack) {
  const std::vector<Frame> python = {Py("g", 2), Py("f", 1)};
  const MergedStack merged =
      MergeStacks(python, FrameWalkDetail{}, NativeStack{}, Layout(3, 12), false);
  EXPECT_THAT(merged.frames, ElementsAre(Py("g", 2), Py("f", 1)));
  EXPECT_FALSE(merged.mismatched);
  EXPECT_EQ(merged.leaf.frames, 0);
}

TEST(MergeStacks, UnnamedFramesShowObjectAndOffset) {
  NativeFrame unnamed = Other("", "/usr/bin/python3.11");
  unnamed.object_offset = 0x1a2b00;
  EXPECT_EQ(NativeToFrame(unnamed), C("python3.11+0x1a2b00", "python3.11"));
  NativeFrame anonymous{.ip = 0x7f00dead0000};
  EXPECT_EQ(NativeToFrame(anonymous), C("0x7f00dead0000", "[anonymous]"));
}

TEST(MergeStacks, LeafSeesTakeGilByName) {
  NativeStack native;
  native.frames = {Other("__futex_abstimed_wait_common", "/lib/libc.so.6"),
                   Other("pthread_cond_timedwait", "/lib/libc.so.6"),
                   Interp("take_gil"),
                   Interp("PyEval_RestoreThread"),
                   Other("hash_update", "/ext/_hashlib.so"),
                   Interp("_PyEval_EvalFrameDefault")};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  const MergedStack merged = MergeStacks({Py("f", 1)}, detail, native, Layout(3, 12), false);
  EXPECT_TRUE(merged.leaf.taking_gil);
}

TEST(MergeStacks, LeafSeesTheEvalLoopTakingTheGilInAStrippedInterpreter) {
  NativeFrame unnamed = Other("", "/usr/bin/python3.11");
  unnamed.in_interpreter = true;
  NativeStack native;
  native.frames = {Other("", "/lib/libc.so.6"),  // Debian's libc names no internal function
                   Other("pthread_cond_timedwait", "/lib/libc.so.6"), unnamed, unnamed,
                   NativeFrame{.function = "_PyEval_EvalFrameDefault",
                               .object = "/usr/bin/python3.11",
                               .in_interpreter = true}};
  FrameWalkDetail detail;
  detail.starts_eval_call = {true};
  EXPECT_TRUE(MergeStacks({Py("f", 1)}, detail, native, Layout(3, 11), false).leaf.taking_gil);

  // threading.Lock.acquire, with symbols, waits through named interpreter functions.
  NativeStack lock = native;
  lock.frames[2] = Interp("PyThread_acquire_lock_timed");
  lock.frames[3] = Interp("lock_PyThread_acquire_lock");
  EXPECT_FALSE(MergeStacks({Py("f", 1)}, detail, lock, Layout(3, 12), false).leaf.taking_gil);

  // Native code without the GIL that happens to take a lock of its own is not taking the GIL.
  native.frames.insert(native.frames.begin() + 2, Other("compress_block", "/ext/zlib.so"));
  EXPECT_FALSE(MergeStacks({Py("f", 1)}, detail, native, Layout(3, 11), false).leaf.taking_gil);
}

// --- RefineWithStacks -------------------------------------------------------------------------

TEST(RefineWithStacks, CheapSignalCallInstructionMakesTheHolderNative) {
  StackSignals signals{.has_python_frames = true, .innermost_calls_native = true};
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGilInNative);
  signals.innermost_calls_native = false;
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGil);
}

TEST(RefineWithStacks, NativeStackOverrulesTheCheapSignal) {
  NativeLeaf none;  // the eval loop itself is running the call instruction
  StackSignals signals{.has_python_frames = true, .innermost_calls_native = true, .leaf = &none};
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGil);

  NativeLeaf helper{.frames = 1, .function = "PyDict_GetItem"};  // bytecode's own helper
  signals = {.has_python_frames = true, .innermost_calls_native = false, .leaf = &helper};
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGil);

  NativeLeaf extension{.frames = 2, .outside_interpreter = true, .function = "matmul"};
  signals.leaf = &extension;  // an operator running an extension's C code
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGilInNative);

  NativeLeaf builtin{.frames = 3, .function = "sre_ucs1_match"};
  signals = {.has_python_frames = true, .innermost_calls_native = true, .leaf = &builtin};
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGilInNative);
}

TEST(RefineWithStacks, HolderWithoutPythonFramesRunsNativeCode) {
  NativeLeaf leaf{.frames = 4, .function = "worker"};
  StackSignals signals{.has_python_frames = false, .leaf = &leaf};
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGilInNative);
}

TEST(RefineWithStacks, RunnableThreadTakingTheGilWaits) {
  NativeLeaf leaf{.frames = 3, .taking_gil = true};
  StackSignals signals{.has_python_frames = true, .leaf = &leaf};
  EXPECT_EQ(RefineWithStacks(ThreadState::kRunningWithoutGil, signals),
            ThreadState::kWaitingForGil);
  leaf.taking_gil = false;
  EXPECT_EQ(RefineWithStacks(ThreadState::kRunningWithoutGil, signals),
            ThreadState::kRunningWithoutGil);
  // Idle and waiting threads are left alone.
  leaf.taking_gil = true;
  EXPECT_EQ(RefineWithStacks(ThreadState::kIdle, signals), ThreadState::kIdle);
}

TEST(RefineWithStacks, RunnableThreadAtTheEvalBreakerWaits) {
  // GIVEN a runnable thread without the GIL whose innermost frame is at JUMP_BACKWARD/RESUME
  StackSignals signals{.has_python_frames = true, .innermost_at_eval_breaker = true};
  EXPECT_EQ(RefineWithStacks(ThreadState::kRunningWithoutGil, signals),
            ThreadState::kWaitingForGil);
  // AND with its native stack read too, whatever that shows
  NativeLeaf leaf{.frames = 2, .function = "drop_gil"};
  signals.leaf = &leaf;
  EXPECT_EQ(RefineWithStacks(ThreadState::kRunningWithoutGil, signals),
            ThreadState::kWaitingForGil);
  // BUT anywhere else it may run C code that released the GIL (a C call, or an operator on an
  // extension type): still running without it
  signals = {.has_python_frames = true, .innermost_at_eval_breaker = false};
  EXPECT_EQ(RefineWithStacks(ThreadState::kRunningWithoutGil, signals),
            ThreadState::kRunningWithoutGil);
  // AND the eval breaker says nothing about holders, idle threads, or threads without frames
  signals = {.has_python_frames = true, .innermost_at_eval_breaker = true};
  EXPECT_EQ(RefineWithStacks(ThreadState::kHoldingGil, signals), ThreadState::kHoldingGil);
  EXPECT_EQ(RefineWithStacks(ThreadState::kIdle, signals), ThreadState::kIdle);
  signals.has_python_frames = false;
  EXPECT_EQ(RefineWithStacks(ThreadState::kRunningWithoutGil, signals),
            ThreadState::kRunningWithoutGil);
}

}  // namespace
}  // namespace gilscope
