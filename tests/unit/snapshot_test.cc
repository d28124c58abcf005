// SnapshotTaker end to end on fake memory and made-up /proc states, for every layout.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gilscope/sampler/snapshot.h"
#include "support/fake_cpython.h"

namespace gilscope {
namespace {

using testing::FakeCPython;

class FakeTaskReader : public TaskReader {
 public:
  void Add(pid_t tid, TaskSyscall syscall) {
    TaskActivity activity;
    activity.tid = tid;
    activity.stat.state = 't';
    activity.stat.comm = "python";
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

TaskSyscall InSyscall(int64_t number, uint64_t arg0 = 0) {
  TaskSyscall syscall;
  syscall.kind = TaskSyscall::Kind::kInSyscall;
  syscall.number = number;
  syscall.args[0] = arg0;
  return syscall;
}

TaskSyscall OnCpu() {
  TaskSyscall syscall;
  syscall.kind = TaskSyscall::Kind::kUserSpace;
  syscall.program_counter = 0x500000;
  return syscall;
}

class SnapshotTest : public ::testing::TestWithParam<const PythonLayout*> {};

TEST_P(SnapshotTest, ClassifiesHolderWaiterIdleAndNativeThreads) {
  const PythonLayout& layout = *GetParam();
  FakeCPython fake(layout);
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress spin = fake.AddCode("spin", "/w.py", 1, 3);
  fake.AddThread(interp, 100, fake.AddFrame(fake.AddCode("main", "/w.py", 9, 10), 0));
  const RemoteAddress holder = fake.AddThread(interp, 101, fake.AddFrame(spin, 0));
  fake.AddThread(interp, 102, fake.AddFrame(spin, 0));
  fake.AddThread(interp, 103, fake.AddFrame(fake.AddCode("crunch", "/w.py", 20, 21), 0));
  fake.SetGilHolder(interp, holder);
  const PythonTarget target = fake.Target(100);

  // The futex word a GIL waiter blocks on lies inside the GIL's condition variable.
  GilLocation location = target.gil;
  location.gil_struct = fake.GilStruct(interp) != 0 ? fake.GilStruct(interp) : location.gil_struct;
  auto gil = ReadGil(fake.memory(), layout, location);
  ASSERT_TRUE(gil.ok()) << gil.status();
  const RemoteAddress gil_futex = gil->wait_ranges[0].start + 4;

  FakeTaskReader tasks;
  tasks.Add(100, InSyscall(230));            // clock_nanosleep
  tasks.Add(101, OnCpu());                   // the holder, running
  tasks.Add(102, InSyscall(202, gil_futex)); // futex on the GIL
  tasks.Add(103, OnCpu());                   // runnable without the GIL
  tasks.Add(104, InSyscall(7));              // a native thread in poll

  SnapshotTaker taker(target, fake.memory(), tasks);
  auto snapshot = taker.Take();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
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
  EXPECT_EQ(snapshot->errors, 0);
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
  ASSERT_EQ(snapshot->threads.size(), 1u);
  EXPECT_FALSE(snapshot->threads[0].is_python);
  EXPECT_TRUE(snapshot->gils.empty());
}

INSTANTIATE_TEST_SUITE_P(AllVersions, SnapshotTest, ::testing::ValuesIn(AllLayouts()),
                         [](const auto& info) {
                           return absl::StrCat("Python", info.param->major, info.param->minor, info.param->free_threaded ? "t" : "");
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
  ASSERT_EQ(snapshot->gils.size(), 2u);
  EXPECT_EQ(snapshot->threads[0].state, ThreadState::kHoldingGil);
  EXPECT_EQ(snapshot->threads[1].state, ThreadState::kHoldingGil);
}

}  // namespace
}  // namespace gilscope
