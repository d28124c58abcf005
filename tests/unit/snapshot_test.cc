// SnapshotTaker end to end on fake memory and made-up /proc states, for every layout.
#include "gilscope/sampler/snapshot.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "support/fake_cpython.h"
#include "support/fake_process.h"

namespace gilscope {
namespace {

using testing::FakeCPython;
using testing::InSyscall;
using testing::OnCpu;

class FakeTaskReader : public TaskReader {
 public:
  void Add(pid_t tid, TaskSyscall syscall) {
    TaskActivity activity;
    activity.tid = tid;
    activity.comm = "python";
    activity.syscall = syscall;
    tasks_.push_back(activity);
  }
  absl::StatusOr<std::vector<pid_t>> ListThreads() override {
    std::vector<pid_t> tids;
    for (const auto& task : tasks_) tids.push_back(task.tid);
    return tids;
  }
  absl::StatusOr<TaskActivity> ReadTask(pid_t tid) override {
    for (const auto& task : tasks_) {
      if (task.tid == tid) return task;
    }
    return absl::NotFoundError("gone");
  }

 private:
  std::vector<TaskActivity> tasks_;
};

class SnapshotTest : public ::testing::TestWithParam<const PythonLayout*> {};

// One of the layout's call opcodes: a frame there may be running a C function.
uint8_t CallOpcode(const PythonLayout& layout) {
  for (int opcode = 0; opcode < 256; ++opcode) {
    if (layout.CallsNative(opcode)) return static_cast<uint8_t>(opcode);
  }
  ADD_FAILURE() << "no call opcode";
  return 0;
}

// Makes glibc count `waiters` threads inside the GIL's waits: 2.7's semaphore keeps them in
// the high half of its 64-bit word; a condition variable, 8 per waiter in __wrefs.
void SetCountedWaiters(FakeCPython& fake, const PythonLayout& layout, const GilState& gil,
                       uint32_t waiters) {
  const RemoteAddress wait = gil.wait_ranges.at(0).start;
  if (layout.gil_model == GilModel::kSemaphore27) {
    fake.Put<uint32_t>(wait + 4, waiters);
  } else {
    fake.Put<uint32_t>(wait + 36, waiters * 8);
  }
}

TEST_P(SnapshotTest, ClassifiesHolderWaiterIdleAndNativeThreads) {
  const PythonLayout& layout = *GetParam();
  FakeCPython fake(layout);
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress spin = fake.AddCode("spin", "/w.py", 1, 3);
  fake.AddThread(interp, 100, fake.AddFrame(fake.AddCode("main", "/w.py", 9, 10), 0));
  const RemoteAddress holder = fake.AddThread(interp, 101, fake.AddFrame(spin, 0));
  fake.AddThread(interp, 102, fake.AddFrame(spin, 0));
  const RemoteAddress crunch = fake.AddFrame(fake.AddCode("crunch", "/w.py", 20, 21), 0);
  fake.Put<uint8_t>(fake.InstructionOf(crunch), CallOpcode(layout));  // in a C call
  fake.AddThread(interp, 103, crunch);
  fake.SetGilHolder(interp, holder);
  const PythonTarget target = fake.Target(100);

  // The futex word a GIL waiter blocks on lies inside the GIL's condition variable.
  GilLocation location = target.gil;
  location.gil_struct = fake.GilStruct(interp) != 0 ? fake.GilStruct(interp) : location.gil_struct;
  auto gil = ReadGil(fake.memory(), layout, location);
  ASSERT_TRUE(gil.ok()) << gil.status();
  const RemoteAddress gil_futex = gil->wait_ranges[0].start + 4;

  FakeTaskReader tasks;
  tasks.Add(100, InSyscall(230));             // clock_nanosleep
  tasks.Add(101, OnCpu());                    // the holder, running
  tasks.Add(102, InSyscall(202, gil_futex));  // futex on the GIL
  tasks.Add(103, OnCpu());                    // runnable without the GIL
  tasks.Add(104, InSyscall(7));               // a native thread in poll

  SnapshotTaker taker(target, fake.memory(), tasks);
  auto snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  ASSERT_EQ(snapshot->threads.size(), 5u);
  auto find = [&](pid_t tid) {
    for (const auto& thread : snapshot->threads) {
      if (thread.native_id == tid) return thread;
    }
    ADD_FAILURE() << "no thread " << tid;
    return ThreadSnapshot{};
  };
  EXPECT_EQ(find(100).state, ThreadState::kIdle);
  EXPECT_EQ(find(100).blocked_in, "clock_nanosleep");
  EXPECT_TRUE(find(100).is_main);
  EXPECT_EQ(find(101).state, ThreadState::kHoldingGil);
  EXPECT_EQ(find(101).frames.at(0).function, "spin");
  EXPECT_EQ(find(102).state, ThreadState::kWaitingForGil);
  EXPECT_EQ(find(103).state, ThreadState::kRunningWithoutGil);
  EXPECT_FALSE(find(104).is_python);
  EXPECT_EQ(find(104).state, ThreadState::kIdle);
  // Main thread first, non-Python threads last.
  EXPECT_EQ(snapshot->threads.front().native_id, 100);
  EXPECT_EQ(snapshot->threads.back().native_id, 104);
  ASSERT_EQ(snapshot->gils.size(), 1u);
  EXPECT_EQ(snapshot->gils[0].holder_native_id, 101);
  EXPECT_EQ(snapshot->gils[0].waiters, 1);
  ASSERT_GE(snapshot->gils[0].holder_thread, 0);
  EXPECT_EQ(snapshot->threads[static_cast<size_t>(snapshot->gils[0].holder_thread)].native_id, 101);
  EXPECT_EQ(snapshot->errors, 0);
}

// A runnable thread without the GIL outside a call, no native stack: a woken GIL waiter that
// has not run yet, or (2.7-3.9, where the loop may drop the GIL after most instructions) a
// thread that just dropped it, or native code a slot called. glibc's count of the GIL's
// waiters says which, where it can.
struct PlacementCase {
  const char* name;
  uint32_t counted_waiters;
  bool second_in_call;       // a second runnable thread, in a C call
  ThreadState expected;      // the thread outside a call
  ThreadState expected_old;  // same, on 2.7-3.9 when it differs
  ThreadState expected_second;
};

TEST_P(SnapshotTest, RunnableThreadsWithoutTheGilArePlacedByGlibcsCountOfWaiters) {
  const PythonLayout& layout = *GetParam();
  if (layout.free_threaded) GTEST_SKIP() << "covered by the GIL builds: the same reader";
  const PlacementCase cases[] = {
      {"no waiter counted: native code, or unknown where a dropper may sit", 0, false,
       ThreadState::kRunningWithoutGil, ThreadState::kUnknown, ThreadState::kUnknown},
      {"one waiter counted, one thread: it waits", 1, false, ThreadState::kWaitingForGil,
       ThreadState::kWaitingForGil, ThreadState::kUnknown},
      {"one waiter, two threads, one in a call: the other waits", 1, true,
       ThreadState::kWaitingForGil, ThreadState::kWaitingForGil, ThreadState::kRunningWithoutGil},
      {"no waiter, two threads: the one in a call runs", 0, true, ThreadState::kRunningWithoutGil,
       ThreadState::kUnknown, ThreadState::kRunningWithoutGil},
      {"two waiters, two threads: both wait", 2, true, ThreadState::kWaitingForGil,
       ThreadState::kWaitingForGil, ThreadState::kWaitingForGil},
  };
  for (const PlacementCase& c : cases) {
    FakeCPython fake(layout);
    const RemoteAddress interp = fake.AddInterpreter(0);
    const RemoteAddress spin = fake.AddCode("spin", "/w.py", 1, 3);
    fake.AddThread(interp, 100, fake.AddFrame(fake.AddCode("main", "/w.py", 9, 10), 0));
    const RemoteAddress holder = fake.AddThread(interp, 101, fake.AddFrame(spin, 0));
    fake.AddThread(interp, 102, fake.AddFrame(spin, 0));  // opcode 0: not a call
    const RemoteAddress crunch = fake.AddFrame(fake.AddCode("crunch", "/w.py", 20, 21), 0);
    fake.Put<uint8_t>(fake.InstructionOf(crunch), CallOpcode(layout));
    if (c.second_in_call) fake.AddThread(interp, 103, crunch);
    fake.SetGilHolder(interp, holder);
    const PythonTarget target = fake.Target(100);
    GilLocation location = target.gil;
    if (fake.GilStruct(interp) != 0) location.gil_struct = fake.GilStruct(interp);
    auto gil = ReadGil(fake.memory(), layout, location);
    ASSERT_TRUE(gil.ok()) << gil.status();
    SetCountedWaiters(fake, layout, *gil, c.counted_waiters);

    FakeTaskReader tasks;
    tasks.Add(100, InSyscall(230));
    tasks.Add(101, OnCpu());
    tasks.Add(102, OnCpu());
    if (c.second_in_call) tasks.Add(103, OnCpu());
    SnapshotTaker taker(target, fake.memory(), tasks);
    auto snapshot = taker.Take();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_TRUE(IsConsistent(*snapshot));
    auto state_of = [&](pid_t tid) {
      for (const auto& thread : snapshot->threads) {
        if (thread.native_id == tid) return thread.state;
      }
      ADD_FAILURE() << "no thread " << tid;
      return ThreadState::kIdle;
    };
    const bool old = layout.eval_breaker_after_most_opcodes;
    EXPECT_EQ(state_of(102), old ? c.expected_old : c.expected)
        << c.name << ": got " << ThreadStateName(state_of(102));
    if (c.second_in_call) {
      // One waiter, two threads, and no way to tell which but by position: where a dropper
      // may sit outside calls (2.7-3.9) the thread outside the call is still the waiter.
      EXPECT_EQ(state_of(103), c.expected_second)
          << c.name << ": got " << ThreadStateName(state_of(103));
    }
  }
}

TEST_P(SnapshotTest, UnreadableStackIsCountedAndTheRestGoesOn) {
  const PythonLayout& layout = *GetParam();
  FakeCPython fake(layout);
  const RemoteAddress interp = fake.AddInterpreter(0);
  fake.AddThread(interp, 100, 0xbad00000);  // points nowhere
  fake.AddThread(interp, 101, fake.AddFrame(fake.AddCode("ok", "/w.py", 1, 1), 0));
  FakeTaskReader tasks;
  tasks.Add(100, OnCpu());
  tasks.Add(101, OnCpu());
  const PythonTarget target = fake.Target(100);  // SnapshotTaker keeps a reference to it
  SnapshotTaker taker(target, fake.memory(), tasks);
  auto snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  EXPECT_EQ(snapshot->errors, 1);
  ASSERT_EQ(snapshot->threads.size(), 2u);
  EXPECT_FALSE(snapshot->threads[0].error.empty());
  EXPECT_EQ(snapshot->threads[1].frames.at(0).function, "ok");
}

TEST_P(SnapshotTest, NoInterpreterLeftIsNotACrash) {
  // A target that finalized between attach and sample has an empty interpreter list.
  FakeCPython fake(*GetParam());
  FakeTaskReader tasks;
  tasks.Add(100, InSyscall(230));
  const PythonTarget target = fake.Target(100);  // SnapshotTaker keeps a reference to it
  SnapshotTaker taker(target, fake.memory(), tasks);
  auto snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  ASSERT_EQ(snapshot->threads.size(), 1u);
  EXPECT_FALSE(snapshot->threads[0].is_python);
  EXPECT_TRUE(snapshot->gils.empty());
}

INSTANTIATE_TEST_SUITE_P(AllVersions, SnapshotTest, ::testing::ValuesIn(AllLayouts()),
                         [](const auto& info) {
                           return absl::StrCat("Python", info.param->major, info.param->minor,
                                               info.param->free_threaded ? "t" : "");
                         });

TEST(PerInterpreterGilTest, EachInterpreterHasItsOwnHolder) {
  const PythonLayout& layout = *FindLayout(3, 12, 1);
  FakeCPython fake(layout);
  const RemoteAddress main_interp = fake.AddInterpreter(0);
  const RemoteAddress sub_interp = fake.AddInterpreter(1);
  const RemoteAddress spin = fake.AddCode("spin", "/w.py", 1, 2);
  const RemoteAddress a = fake.AddThread(main_interp, 100, fake.AddFrame(spin, 0));
  const RemoteAddress b = fake.AddThread(sub_interp, 101, fake.AddFrame(spin, 0));
  fake.SetGilHolder(main_interp, a);
  fake.SetGilHolder(sub_interp, b);
  FakeTaskReader tasks;
  tasks.Add(100, OnCpu());
  tasks.Add(101, OnCpu());
  const PythonTarget target = fake.Target(100);  // SnapshotTaker keeps a reference to it
  SnapshotTaker taker(target, fake.memory(), tasks);
  auto snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  ASSERT_EQ(snapshot->gils.size(), 2u);
  EXPECT_EQ(snapshot->threads[0].state, ThreadState::kHoldingGil);
  EXPECT_EQ(snapshot->threads[1].state, ThreadState::kHoldingGil);
}

// --- Subinterpreters (3.12+) ---------------------------------------------------------------

const ThreadSnapshot* FindThread(const Snapshot& snapshot, pid_t tid) {
  const ThreadSnapshot* found = nullptr;
  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (thread.native_id != tid) continue;
    EXPECT_EQ(found, nullptr) << "thread " << tid << " shown twice";
    found = &thread;
  }
  return found;
}

std::vector<std::string> Functions(const ThreadSnapshot& thread) {
  std::vector<std::string> names;
  for (const Frame& frame : thread.frames) names.push_back(frame.function.str());
  return names;
}

// The futex word a thread waiting for `interpreter`'s GIL blocks on.
RemoteAddress GilFutex(FakeCPython& fake, const PythonLayout& layout, RemoteAddress interpreter) {
  GilLocation location = fake.Target(1).gil;
  location.gil_struct = fake.GilStruct(interpreter);
  absl::StatusOr<GilState> gil = ReadGil(fake.memory(), layout, location);
  EXPECT_TRUE(gil.ok()) << gil.status();
  return gil.ok() ? gil->wait_ranges[0].start + 4 : 0;
}

// OS thread 201 called interp.exec() from the main interpreter (its caller state, two frames
// deep) and runs code in subinterpreter 1 (its sub state, two frames deep); the main thread
// (100) sleeps. Tests choose which state is active and holds which GIL.
struct ExecRunner {
  explicit ExecRunner(const PythonLayout& layout) : fake(layout) {
    main_interp = fake.AddInterpreter(0);
    sub = fake.AddInterpreter(1);
    fake.AddThread(main_interp, 100, fake.AddFrame(fake.AddCode("main", "/w.py", 1, 2), 0));
    const RemoteAddress bootstrap =
        fake.AddFrame(fake.AddCode("Thread._bootstrap", "/t.py", 1, 2), 0);
    caller = fake.AddThread(main_interp, 201,
                            fake.AddFrame(fake.AddCode("<lambda>", "/w.py", 5, 6), bootstrap));
    const RemoteAddress module = fake.AddFrame(fake.AddCode("<module>", "<string>", 1, 9), 0);
    inside =
        fake.AddThread(sub, 201, fake.AddFrame(fake.AddCode("spin", "<string>", 3, 4), module));
    fake.SetThreadActive(caller, false);
    fake.SetThreadActive(inside, false);
    // threading names the thread in the interpreter that started it; the other calls it Dummy-1.
    fake.AddThreadingModule(
        main_interp,
        {{fake.Ident(caller), fake.AddThreadObject("runner", FakeCPython::Attributes::kDict)}});
    fake.AddThreadingModule(
        sub,
        {{fake.Ident(inside), fake.AddThreadObject("Dummy-1", FakeCPython::Attributes::kDict)}});
    tasks.Add(100, InSyscall(230));  // clock_nanosleep
  }
  absl::StatusOr<Snapshot> Take() {
    target = fake.Target(100);
    SnapshotTaker taker(target, fake.memory(), tasks);
    return taker.Take();
  }

  FakeCPython fake;
  FakeTaskReader tasks;
  PythonTarget target;
  RemoteAddress main_interp = 0, sub = 0, caller = 0, inside = 0;
};

const std::vector<std::string> kWholeChain = {"spin", "<module>", "<lambda>", "Thread._bootstrap"};

// 3.13+: thread states are bound to the OS thread using them, so one thread's states fold.
std::vector<const PythonLayout*> FoldingLayouts() {
  std::vector<const PythonLayout*> layouts;
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->gil_model == GilModel::kPerInterpreter &&
        (layout->major > 3 || layout->minor >= 13)) {
      layouts.push_back(layout);
    }
  }
  return layouts;
}

std::vector<const PythonLayout*> PerInterpreterGilLayouts() {
  std::vector<const PythonLayout*> layouts;
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->gil_model == GilModel::kPerInterpreter) layouts.push_back(layout);
  }
  return layouts;
}

std::string LayoutName(const ::testing::TestParamInfo<const PythonLayout*>& info) {
  return absl::StrCat("Python", info.param->major, info.param->minor,
                      info.param->free_threaded ? "t" : "");
}

class ThreadInSubinterpreterTest : public ::testing::TestWithParam<const PythonLayout*> {};

TEST_P(ThreadInSubinterpreterTest, HolderIsShownOnceInTheSubinterpreterWithItsCallersBelow) {
  // GIVEN thread 201 running in subinterpreter 1, holding its GIL (its state there active)
  ExecRunner runner(*GetParam());
  runner.fake.SetThreadActive(runner.inside, true);
  runner.fake.SetGilHolder(runner.sub, runner.inside);
  runner.tasks.Add(201, OnCpu());
  // WHEN sampled
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  // THEN it is one thread, in interpreter 1, holding that GIL, the whole call chain innermost first
  const ThreadSnapshot* thread = FindThread(*snapshot, 201);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->interpreter_id, 1);
  EXPECT_EQ(thread->state, ThreadState::kHoldingGil);
  EXPECT_EQ(Functions(*thread), kWholeChain);
  EXPECT_EQ(thread->name, "runner");  // not the subinterpreter's placeholder
  EXPECT_FALSE(thread->is_main);
  EXPECT_EQ(snapshot->threads.size(), 2u);
  ASSERT_EQ(snapshot->gils.size(), 2u);
  EXPECT_EQ(snapshot->gils[1].holder_native_id, 201);
  EXPECT_EQ(snapshot->gils[0].holder_native_id, 0);
  EXPECT_EQ(snapshot->errors, 0);
}

TEST_P(ThreadInSubinterpreterTest, WaiterIsShownWhereItWaitsAndCountedOnlyThere) {
  // GIVEN both of 201's states inactive while it waits for subinterpreter 1's GIL, which
  // another thread of that interpreter holds
  ExecRunner runner(*GetParam());
  const RemoteAddress holder = runner.fake.AddThread(
      runner.sub, 202, runner.fake.AddFrame(runner.fake.AddCode("spin", "<string>", 3, 4), 0));
  runner.fake.SetThreadActive(holder, true);
  runner.fake.SetGilHolder(runner.sub, holder);
  runner.tasks.Add(201, InSyscall(202, GilFutex(runner.fake, *GetParam(), runner.sub)));
  runner.tasks.Add(202, OnCpu());
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  const ThreadSnapshot* thread = FindThread(*snapshot, 201);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->interpreter_id, 1);
  EXPECT_EQ(thread->state, ThreadState::kWaitingForGil);
  EXPECT_EQ(Functions(*thread), kWholeChain);
  ASSERT_EQ(snapshot->gils.size(), 2u);
  EXPECT_EQ(snapshot->gils[1].waiters, 1);
  EXPECT_EQ(snapshot->gils[0].waiters, 0);
}

TEST_P(ThreadInSubinterpreterTest, IdleThreadIsShownInTheInterpreterEnteredLast) {
  // GIVEN 201 blocked on some other lock, attached nowhere: both its states inactive
  ExecRunner runner(*GetParam());
  runner.tasks.Add(201, InSyscall(202, 0x1234));
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  const ThreadSnapshot* thread = FindThread(*snapshot, 201);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->interpreter_id, 1);
  EXPECT_EQ(thread->state, ThreadState::kIdle);
  EXPECT_EQ(Functions(*thread), kWholeChain);
}

TEST_P(ThreadInSubinterpreterTest, StateWithoutFramesGivesWayToOneWithFrames) {
  // GIVEN 201's state in the subinterpreter has no frame yet (exec has not started its code)
  ExecRunner runner(*GetParam());
  const RemoteAddress empty = runner.fake.AddThread(runner.sub, 203, 0);
  const RemoteAddress caller = runner.fake.AddThread(
      runner.main_interp, 203,
      runner.fake.AddFrame(runner.fake.AddCode("call_exec", "/w.py", 7, 8), 0));
  runner.fake.SetThreadActive(empty, false);
  runner.fake.SetThreadActive(caller, false);
  runner.tasks.Add(201, InSyscall(202, 0x1234));
  runner.tasks.Add(203, InSyscall(202, 0x1234));
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  const ThreadSnapshot* thread = FindThread(*snapshot, 203);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->interpreter_id, 0);
  EXPECT_EQ(Functions(*thread), std::vector<std::string>{"call_exec"});
}

TEST_P(ThreadInSubinterpreterTest, WithoutTheActiveBitTheGilHolderIsCurrent) {
  // GIVEN a layout that does not know where the active bit is, and 201 back in the main
  // interpreter holding its GIL while its subinterpreter state still has frames
  PythonLayout layout = *GetParam();
  layout.thread.status_active_bit = -1;
  ExecRunner runner(layout);
  runner.fake.SetGilHolder(runner.main_interp, runner.caller);
  runner.tasks.Add(201, OnCpu());
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  const ThreadSnapshot* thread = FindThread(*snapshot, 201);
  ASSERT_NE(thread, nullptr);
  EXPECT_FALSE(thread->active.has_value());
  // THEN the holder's state is current, not the newest interpreter's
  EXPECT_EQ(thread->interpreter_id, 0);
  EXPECT_EQ(thread->state, ThreadState::kHoldingGil);
  EXPECT_EQ(Functions(*thread).front(), "<lambda>");
}

TEST_P(ThreadInSubinterpreterTest, TheActiveStateWinsOverTheNewestInterpreter) {
  // GIVEN 201 running in the main interpreter again (active there), its subinterpreter state
  // left with frames
  ExecRunner runner(*GetParam());
  runner.fake.SetThreadActive(runner.caller, true);
  runner.tasks.Add(201, OnCpu());
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  const ThreadSnapshot* thread = FindThread(*snapshot, 201);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->active, std::optional<bool>(true));
  EXPECT_EQ(thread->interpreter_id, 0);
  EXPECT_EQ(thread->name, "runner");
}

INSTANTIATE_TEST_SUITE_P(Folding, ThreadInSubinterpreterTest, ::testing::ValuesIn(FoldingLayouts()),
                         LayoutName);

TEST(ThreadInSubinterpreterTest312, StatesOfOneOsIdAreShownAsRead) {
  // 3.12 runs interp.exec() on the subinterpreter's first state, which keeps its creator's OS
  // id: folding by OS id would put the wrong thread there.
  ExecRunner runner(*FindLayout(3, 12, 1));
  runner.tasks.Add(201, OnCpu());
  absl::StatusOr<Snapshot> snapshot = runner.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  int shown = 0;
  for (const ThreadSnapshot& thread : snapshot->threads) shown += thread.native_id == 201 ? 1 : 0;
  EXPECT_EQ(shown, 2);
}

class LegacySubinterpreterTest : public ::testing::TestWithParam<const PythonLayout*> {};

TEST_P(LegacySubinterpreterTest, SharesTheMainGilWhichKeepsTheMainInterpretersName) {
  // GIVEN a legacy subinterpreter (listed first, as CPython lists the newest first) using the
  // main interpreter's GIL, one of its threads holding it and another waiting
  const PythonLayout& layout = *GetParam();
  FakeCPython fake(layout);
  const RemoteAddress main_interp = fake.AddInterpreter(0);
  const RemoteAddress legacy = fake.AddInterpreter(1);
  fake.ShareGil(legacy, main_interp);
  const RemoteAddress spin = fake.AddCode("spin", "<string>", 1, 2);
  fake.AddThread(main_interp, 100, fake.AddFrame(fake.AddCode("main", "/w.py", 1, 2), 0));
  const RemoteAddress holder = fake.AddThread(legacy, 101, fake.AddFrame(spin, 0));
  fake.AddThread(legacy, 102, fake.AddFrame(spin, 0));
  fake.SetGilHolder(main_interp, holder);
  FakeTaskReader tasks;
  tasks.Add(100, InSyscall(230));
  tasks.Add(101, OnCpu());
  tasks.Add(102, InSyscall(202, GilFutex(fake, layout, main_interp)));
  const PythonTarget target = fake.Target(100);
  SnapshotTaker taker(target, fake.memory(), tasks);
  absl::StatusOr<Snapshot> snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  // THEN one GIL, named after interpreter 0, used by both
  ASSERT_EQ(snapshot->gils.size(), 1u);
  EXPECT_EQ(snapshot->gils[0].interpreter_id, 0);
  EXPECT_EQ(snapshot->gils[0].holder_native_id, 101);
  EXPECT_EQ(snapshot->gils[0].waiters, 1);
  ASSERT_EQ(snapshot->interpreters.size(), 2u);
  EXPECT_EQ(snapshot->interpreters[0].id, 0);
  EXPECT_EQ(snapshot->interpreters[1].id, 1);
  EXPECT_EQ(snapshot->interpreters[1].gil_index, 0);
  EXPECT_TRUE(snapshot->interpreters[0].OwnsGil(snapshot->gils));
  EXPECT_FALSE(snapshot->interpreters[1].OwnsGil(snapshot->gils));
  const ThreadSnapshot* waiter = FindThread(*snapshot, 102);
  ASSERT_NE(waiter, nullptr);
  EXPECT_EQ(waiter->state, ThreadState::kWaitingForGil);
  EXPECT_EQ(waiter->interpreter_id, 1);
  EXPECT_EQ(waiter->gil_index, 0);
}

TEST_P(LegacySubinterpreterTest, IsolatedOnesGetAGilEachInIdOrder) {
  const PythonLayout& layout = *GetParam();
  FakeCPython fake(layout);
  fake.AddInterpreter(0);
  fake.AddInterpreter(2);
  fake.AddInterpreter(1);
  FakeTaskReader tasks;
  tasks.Add(100, InSyscall(230));
  const PythonTarget target = fake.Target(100);
  SnapshotTaker taker(target, fake.memory(), tasks);
  absl::StatusOr<Snapshot> snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
  ASSERT_EQ(snapshot->gils.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(snapshot->gils[i].interpreter_id, i);
    EXPECT_EQ(snapshot->interpreters[i].id, i);
    EXPECT_EQ(snapshot->interpreters[i].gil_index, i);
    EXPECT_TRUE(snapshot->interpreters[i].OwnsGil(snapshot->gils));
  }
}

INSTANTIATE_TEST_SUITE_P(PerInterpreterGil, LegacySubinterpreterTest,
                         ::testing::ValuesIn(PerInterpreterGilLayouts()), LayoutName);

TEST(GilDisabledTest, FreeThreadedBuildWithoutItsGilRunsThreadsWithoutIt) {
  for (const PythonLayout* layout : AllLayouts()) {
    if (!layout->free_threaded) continue;
    SCOPED_TRACE(LayoutName({layout, 0}));
    // GIVEN a free-threaded build with its GIL off and two threads running Python
    FakeCPython fake(*layout);
    const RemoteAddress interp = fake.AddInterpreter(0);
    const RemoteAddress spin = fake.AddCode("spin", "/w.py", 1, 2);
    fake.SetThreadActive(fake.AddThread(interp, 100, fake.AddFrame(spin, 0)), true);
    // One of them at an opcode where, with a GIL, it could only be waiting for it.
    const RemoteAddress looping = fake.AddFrame(spin, 0);
    for (int opcode = 0; opcode < 256; ++opcode) {
      if (!layout->AtEvalBreaker(opcode)) continue;
      fake.Put<uint8_t>(fake.InstructionOf(looping), static_cast<uint8_t>(opcode));
      break;
    }
    fake.SetThreadActive(fake.AddThread(interp, 101, looping), true);
    fake.SetGilEnabled(interp, false);
    FakeTaskReader tasks;
    tasks.Add(100, OnCpu());
    tasks.Add(101, OnCpu());
    const PythonTarget target = fake.Target(100);
    SnapshotTaker taker(target, fake.memory(), tasks);
    absl::StatusOr<Snapshot> snapshot = taker.Take();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_TRUE(IsConsistent(*snapshot));  // GIL roles settled by Take()
    // THEN the GIL reads disabled and free, and both threads run without it
    ASSERT_EQ(snapshot->gils.size(), 1u);
    EXPECT_FALSE(snapshot->gils[0].enabled);
    EXPECT_FALSE(snapshot->gils[0].locked);
    EXPECT_EQ(snapshot->gils[0].holder_native_id, 0);
    ASSERT_EQ(snapshot->threads.size(), 2u);
    for (const ThreadSnapshot& thread : snapshot->threads) {
      EXPECT_EQ(thread.state, ThreadState::kRunningWithoutGil);
    }
  }
}

}  // namespace
}  // namespace gilscope
