// The sampling schedule on a fake clock: evenly spaced slots, no drift, skipped slots counted
// when samples run long, and each way a recording can end.
#include "gilscope/sampler/sampling_loop.h"

#include <gtest/gtest.h>

#include <vector>

namespace gilscope {
namespace {

class FakeClock : public Clock {
 public:
  absl::Time Now() override { return now_; }
  void SleepUntil(absl::Time deadline) override {
    if (deadline > now_) now_ = deadline;
  }
  void Advance(absl::Duration by) { now_ += by; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(5000);
};

struct LoopRun {
  SamplingStats stats;
  std::vector<absl::Time> sample_times;
};

// Every sample costs `cost` of fake time; `result` decides what sample n returns.
LoopRun RunWith(FakeClock& clock, SamplingSchedule schedule, absl::Duration cost,
                std::function<absl::Status(int)> result = nullptr,
                std::function<bool()> stop = nullptr,
                std::function<FailureMeaning(const absl::Status&)> classify = nullptr) {
  LoopRun run;
  int n = 0;
  SamplingHooks hooks;
  hooks.take = [&]() -> absl::StatusOr<Snapshot> {
    clock.Advance(cost);
    const absl::Status status = result ? result(n++) : absl::OkStatus();
    if (!status.ok()) return status;
    return Snapshot{};
  };
  hooks.on_sample = [&](const Snapshot&, absl::Time at) { run.sample_times.push_back(at); };
  hooks.should_stop = stop;
  hooks.classify = classify;
  run.stats = RunSamplingLoop(schedule, hooks, clock);
  return run;
}

TEST(SamplingLoopTest, KeepsAnEvenScheduleForTheWholeDuration) {
  FakeClock clock;
  const LoopRun run = RunWith(clock, {100, absl::Seconds(1)}, absl::Microseconds(300));
  EXPECT_EQ(run.stats.end, SamplingEnd::kDurationReached);
  EXPECT_EQ(run.stats.taken, 100);
  EXPECT_EQ(run.stats.late, 0);
  EXPECT_EQ(run.stats.missed, 0);
  ASSERT_EQ(run.sample_times.size(), 100u);
  for (size_t i = 1; i < run.sample_times.size(); ++i) {
    EXPECT_EQ(run.sample_times[i] - run.sample_times[i - 1], absl::Milliseconds(10)) << i;
  }
}

TEST(SamplingLoopTest, SlowSamplesSkipSlotsInsteadOfDrifting) {
  FakeClock clock;
  const LoopRun run = RunWith(clock, {100, absl::Seconds(1)}, absl::Milliseconds(25));
  EXPECT_EQ(run.stats.end, SamplingEnd::kDurationReached);
  EXPECT_GT(run.stats.missed, 50);
  EXPECT_LT(run.stats.taken, 50);
  // Every slot of the second is either sampled or counted as missed.
  EXPECT_EQ(run.stats.taken + run.stats.missed, 100);
  // Never a burst: samples are at least one sample's cost apart.
  for (size_t i = 1; i < run.sample_times.size(); ++i) {
    EXPECT_GE(run.sample_times[i] - run.sample_times[i - 1], absl::Milliseconds(25)) << i;
  }
}

TEST(SamplingLoopTest, TargetGoneEndsTheRecording) {
  FakeClock clock;
  const LoopRun run = RunWith(clock, {100, std::nullopt}, absl::Microseconds(100), [](int n) {
    return n < 30 ? absl::OkStatus() : absl::NotFoundError("gone");
  });
  EXPECT_EQ(run.stats.end, SamplingEnd::kTargetExited);
  EXPECT_EQ(run.stats.taken, 30);
  EXPECT_EQ(run.stats.failed, 0);
}

TEST(SamplingLoopTest, TargetExecingAnotherProgramEndsTheRecording) {
  FakeClock clock;
  // The caller's classifier knows the exec (ExecWatch); the status alone says a read failed.
  const LoopRun run = RunWith(
      clock, {100, std::nullopt}, absl::Microseconds(100),
      [](int n) { return n < 30 ? absl::OkStatus() : absl::DataLossError("torn"); }, nullptr,
      [](const absl::Status& status) {
        return Classify(status, TargetChange{false, true});
      });
  EXPECT_EQ(run.stats.end, SamplingEnd::kTargetReplaced);
  EXPECT_EQ(run.stats.taken, 30);
  EXPECT_EQ(run.stats.failed, 0);
}

TEST(SamplingLoopTest, StopRequestEndsTheRecording) {
  FakeClock clock;
  int polls = 0;
  const LoopRun run = RunWith(clock, {100, std::nullopt}, absl::Microseconds(100), nullptr,
                              [&]() { return ++polls > 12; });
  EXPECT_EQ(run.stats.end, SamplingEnd::kStopped);
  EXPECT_GE(run.stats.taken, 5);
  EXPECT_LE(run.stats.taken, 12);
}

TEST(SamplingLoopTest, OccasionalFailuresAreCountedAndSamplingGoesOn) {
  FakeClock clock;
  const LoopRun run = RunWith(clock, {100, absl::Seconds(1)}, absl::Microseconds(100), [](int n) {
    return n % 10 == 3 ? absl::UnavailableError("raced thread exit") : absl::OkStatus();
  });
  EXPECT_EQ(run.stats.end, SamplingEnd::kDurationReached);
  EXPECT_EQ(run.stats.failed, 10);
  EXPECT_EQ(run.stats.taken, 90);
}

TEST(SamplingLoopTest, PersistentFailuresGiveUp) {
  FakeClock clock;
  const LoopRun run = RunWith(clock, {100, std::nullopt}, absl::Microseconds(100),
                              [](int) { return absl::DataLossError("garbage"); });
  EXPECT_EQ(run.stats.end, SamplingEnd::kFailed);
  EXPECT_EQ(run.stats.failed, kMaxConsecutiveFailures);
  EXPECT_TRUE(absl::IsDataLoss(run.stats.failure));
}

TEST(SamplingLoopTest, PermissionDeniedGivesUpAtOnce) {
  FakeClock clock;
  const LoopRun run = RunWith(clock, {100, std::nullopt}, absl::Microseconds(100),
                              [](int) { return absl::PermissionDeniedError("yama"); });
  EXPECT_EQ(run.stats.end, SamplingEnd::kFailed);
  EXPECT_EQ(run.stats.failed, 1);
}

}  // namespace
}  // namespace gilscope
