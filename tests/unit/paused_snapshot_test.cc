// TakeSnapshot and SnapshotTaker end to end on a fake process: located by LocatePython, paused
// by a FakePauser that counts, so every pause is seen undone exactly once, errors included.
#include "gilscope/sampler/paused_snapshot.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gilscope/locate/python_target.h"
#include "support/fake_cpython.h"
#include "support/fake_process.h"
#include "support/fake_python_process.h"

namespace gilscope {
namespace {

using testing::FakeCPython;
using testing::FakePauser;
using testing::FakeProcess;
using testing::InSyscall;
using testing::OnCpu;

constexpr pid_t kPid = 500;

// Lists threads through `process`, noting whether the target was paused at that moment.
class WatchedTasks : public TaskReader {
 public:
  WatchedTasks(FakeProcess& process, const FakePauser& pauser)
      : process_(process), pauser_(pauser) {}
  absl::StatusOr<std::vector<pid_t>> ListThreads() override {
    listed_while_paused_.push_back(pauser_.paused());
    return process_.ListThreads();
  }
  absl::StatusOr<TaskActivity> ReadTask(pid_t tid) override { return process_.ReadTask(tid); }
  const std::vector<bool>& listed_while_paused() const { return listed_while_paused_; }

 private:
  FakeProcess& process_;
  const FakePauser& pauser_;
  std::vector<bool> listed_while_paused_;
};

TaskSyscall Sleeping() { return InSyscall(230); }  // clock_nanosleep

class PausedSnapshotTest : public ::testing::TestWithParam<int> {
 protected:
  // GIVEN a 3.N process: the main thread asleep, a worker holding the GIL, a native helper.
  void SetUp() override {
    const PythonLayout* found = FindLayout(3, GetParam(), 99);
    ASSERT_NE(found, nullptr);
    layout_ = found;
    fake_ = std::make_unique<FakeCPython>(*layout_);
    const RemoteAddress interp = fake_->AddInterpreter(0);
    fake_->AddThread(interp, kPid, fake_->AddFrame(fake_->AddCode("main", "app.py", 1, 5), 0));
    const RemoteAddress worker = fake_->AddThread(
        interp, kPid + 1, fake_->AddFrame(fake_->AddCode("spin", "app.py", 10, 12), 0));
    fake_->SetGilHolder(interp, worker);
    process_ = std::make_unique<FakeProcess>(testing::MakePythonProcess(*fake_, *layout_, kPid));
    process_->AddThread(kPid, Sleeping());
    process_->AddThread(kPid + 1, OnCpu());
    process_->AddThread(kPid + 2, Sleeping(), 'S', "helper");
    absl::StatusOr<PythonTarget> target = LocatePython(*process_, fake_->memory());
    ASSERT_TRUE(target.ok()) << target.status();
    target_ = *std::move(target);
  }

  const PythonLayout* layout_ = nullptr;
  std::unique_ptr<FakeCPython> fake_;
  std::unique_ptr<FakeProcess> process_;
  PythonTarget target_;
  FakePauser pauser_;
};

TEST_P(PausedSnapshotTest, ReadsThreadsAndHolderWhilePausedOnce) {
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);

  SnapshotCost cost;
  absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser_, Pausing::kWholeProcess, &cost);

  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(pauser_.pauses(), 1);
  EXPECT_EQ(pauser_.resumes(), 1);
  EXPECT_EQ(tasks.listed_while_paused(), std::vector<bool>{true});
  ASSERT_EQ(snapshot->threads.size(), 3u);
  const ThreadSnapshot& main = snapshot->threads[0];
  EXPECT_EQ(main.native_id, kPid);
  EXPECT_TRUE(main.is_main);
  EXPECT_EQ(main.state, ThreadState::kIdle);
  ASSERT_EQ(main.frames.size(), 1u);
  EXPECT_EQ(main.frames[0].function, "main");
  const ThreadSnapshot& worker = snapshot->threads[1];
  EXPECT_EQ(worker.native_id, kPid + 1);
  EXPECT_TRUE(HoldsGil(worker.state));
  ASSERT_EQ(worker.frames.size(), 1u);
  EXPECT_EQ(worker.frames[0].function, "spin");
  EXPECT_EQ(worker.frames[0].line, 12);
  const ThreadSnapshot& helper = snapshot->threads[2];
  EXPECT_FALSE(helper.is_python);
  EXPECT_EQ(helper.os_name, "helper");
  ASSERT_EQ(snapshot->gils.size(), 1u);
  EXPECT_TRUE(snapshot->gils[0].locked);
  EXPECT_EQ(snapshot->gils[0].holder_native_id, kPid + 1);
  EXPECT_EQ(snapshot->errors, 0);
}

// Record's pause stops the threads that can run; a native helper only at the first sample,
// before the taker knows which threads are Python's; blocked threads never.
TEST_P(PausedSnapshotTest, RecordsPauseStopsThePythonThreadsThatCanRun) {
  process_->AddThread(kPid + 3, OnCpu(), 'R', "native-worker");
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);

  absl::StatusOr<Snapshot> first = TakeSnapshot(taker, pauser_, Pausing::kThreadsThatRun);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(pauser_.last_stopped(), (std::vector<pid_t>{kPid + 1, kPid + 3}));
  absl::StatusOr<Snapshot> second = TakeSnapshot(taker, pauser_, Pausing::kThreadsThatRun);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(pauser_.last_stopped(), std::vector<pid_t>{kPid + 1});
  EXPECT_EQ(pauser_.pauses(), 2);
  EXPECT_EQ(pauser_.resumes(), 2);
  ASSERT_EQ(second->threads.size(), 4u);
  EXPECT_TRUE(HoldsGil(second->threads[1].state));
  EXPECT_EQ(second->threads[0].state, ThreadState::kIdle);
}

// Rehearsed: a snapshot without a pause first (dropped), then the paused one that counts.
TEST_P(PausedSnapshotTest, ARehearsedSampleReadsOnceFreeThenOncePaused) {
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);
  absl::StatusOr<Snapshot> snapshot =
      TakeSnapshot(taker, pauser_, Pausing::kThreadsThatRun, nullptr, /*rehearse=*/true);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  // Listed by the rehearsal, by ThreadsToStop, and by the snapshot taken while paused.
  EXPECT_EQ(tasks.listed_while_paused(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(pauser_.pauses(), 1);
  EXPECT_EQ(pauser_.resumes(), 1);
  EXPECT_TRUE(HoldsGil(snapshot->threads[1].state));
}

// Nothing can run (every thread blocked): the sample is taken without a pause.
TEST_P(PausedSnapshotTest, RecordsPauseStopsNothingWhenEveryThreadIsBlocked) {
  process_->AddThread(kPid + 1, Sleeping());
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);
  SnapshotCost cost;
  absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser_, Pausing::kThreadsThatRun, &cost);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(pauser_.pauses(), 0);
  EXPECT_EQ(cost.paused, absl::ZeroDuration());
}

TEST_P(PausedSnapshotTest, NonblockingNeverPauses) {
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);

  SnapshotCost cost;
  cost.paused = absl::Seconds(1);
  absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser_, Pausing::kNone, &cost);

  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(pauser_.pauses(), 0);
  EXPECT_EQ(cost.paused, absl::ZeroDuration());
  EXPECT_EQ(tasks.listed_while_paused(), std::vector<bool>{false});
}

TEST_P(PausedSnapshotTest, ResumedWhenTheSnapshotFails) {
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);
  process_->Exit();

  absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser_, Pausing::kWholeProcess);

  EXPECT_TRUE(absl::IsNotFound(snapshot.status())) << snapshot.status();
  EXPECT_EQ(pauser_.pauses(), 1);
  EXPECT_EQ(pauser_.resumes(), 1);
}

TEST_P(PausedSnapshotTest, NoSnapshotWhenThePauseFails) {
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);
  pauser_.FailWith(absl::PermissionDeniedError("traced by another"));

  absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser_, Pausing::kWholeProcess);

  EXPECT_TRUE(absl::IsPermissionDenied(snapshot.status())) << snapshot.status();
  EXPECT_TRUE(tasks.listed_while_paused().empty());
  EXPECT_EQ(pauser_.resumes(), 0);
}

// Unwinds nothing, but says which threads it was asked for.
class RecordingUnwinder : public NativeUnwinder {
 public:
  explicit RecordingUnwinder(std::vector<pid_t>& unwound) : unwound_(unwound) {}
  absl::StatusOr<NativeStack> Unwind(pid_t tid) override {
    unwound_.push_back(tid);
    return absl::NotFoundError("no registers in a fake process");
  }
  NativeStack UnwindFrom(const ThreadRegisters&) override { return {}; }

 private:
  std::vector<pid_t>& unwound_;
};

TEST_P(PausedSnapshotTest, NativeStacksComeFromTheGivenUnwinder) {
  WatchedTasks tasks(*process_, pauser_);
  SnapshotTaker taker(target_, fake_->memory(), tasks);
  std::vector<pid_t> unwound;
  std::string object;
  absl::Status enabled = taker.EnableNativeStacks(
      NativeStacks::kOnCpu, false,
      [&](pid_t pid, RemoteMemory&,
          std::string interpreter_object) -> absl::StatusOr<std::unique_ptr<NativeUnwinder>> {
        EXPECT_EQ(pid, kPid);
        object = interpreter_object;
        return std::make_unique<RecordingUnwinder>(unwound);
      });
  ASSERT_TRUE(enabled.ok()) << enabled;

  absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser_, Pausing::kWholeProcess);

  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(object, target_.python_binary);
  EXPECT_EQ(unwound, std::vector<pid_t>{kPid + 1});  // only the holder is on a CPU
  EXPECT_EQ(snapshot->errors, 1);                    // its native stack could not be read
  EXPECT_EQ(pauser_.resumes(), 1);
}

INSTANTIATE_TEST_SUITE_P(Versions, PausedSnapshotTest, ::testing::Values(11, 12),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "Python3" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace gilscope
