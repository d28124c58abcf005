// Takes samples on a fixed schedule until the duration ends, the caller says stop, or the
// target exits. The schedule never drifts: a sample that runs long shifts nothing after it,
// and slots that cannot be kept are skipped and counted instead of being taken in a burst.
#ifndef GILSCOPE_SAMPLER_SAMPLING_LOOP_H_
#define GILSCOPE_SAMPLER_SAMPLING_LOOP_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gilscope/sampler/failure_policy.h"
#include "gilscope/sampler/snapshot.h"

namespace gilscope {

// Time, behind an interface so the schedule is unit tested without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Returns early when a signal arrives, so a stop request is seen at once.
  virtual void SleepUntil(absl::Time deadline) = 0;
};

// CLOCK_MONOTONIC, expressed as absl::Time.
class MonotonicClock : public Clock {
 public:
  absl::Time Now() override;
  void SleepUntil(absl::Time deadline) override;
};

struct SamplingSchedule {
  double rate_hz = 100;
  std::optional<absl::Duration> duration;  // none: until stopped or the target exits
};

enum class SamplingEnd { kDurationReached, kStopped, kTargetExited, kTargetReplaced, kFailed };
const char* SamplingEndName(SamplingEnd end);  // "duration reached", "interrupted", ...

struct SamplingStats {
  int64_t taken = 0;       // samples that produced a snapshot
  int64_t failed = 0;      // samples that failed (counted as errors)
  int64_t late = 0;        // samples started more than one period after their slot
  int64_t missed = 0;      // slots skipped because the previous sample ran past them
  absl::Duration elapsed;  // from the first slot to the end
  SamplingEnd end = SamplingEnd::kStopped;
  absl::Status failure;  // why sampling gave up, when end == kFailed
};

struct SamplingHooks {
  std::function<absl::StatusOr<Snapshot>()> take;
  // Called with every snapshot, and the time it was taken.
  std::function<void(const Snapshot&, absl::Time)> on_sample;
  std::function<void()> on_failed_sample;
  // What a failure from `take` means; empty: Classify(status). A caller that knows more about
  // the target (its child exited, it exec'd) says so here.
  std::function<FailureMeaning(const absl::Status&)> classify;
  // Polled before each sample: true ends the loop (a signal arrived, the child exited).
  std::function<bool()> should_stop;
  // Called about every `progress_every` with the stats so far (live status); may be empty.
  std::function<void(const SamplingStats&)> on_progress;
  absl::Duration progress_every = absl::Milliseconds(250);
};

// Consecutive failed samples after which the target is taken as unreadable.
inline constexpr int kMaxConsecutiveFailures = 50;

// A failure from `take`, by its meaning (failure_policy.h): kTargetExited and kTargetReplaced
// end the loop as such; kFatal ends it as kFailed at once; anything else is a failed sample,
// and kMaxConsecutiveFailures of them in a row end it as kFailed.
SamplingStats RunSamplingLoop(const SamplingSchedule& schedule, const SamplingHooks& hooks,
                              Clock& clock);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_SAMPLING_LOOP_H_
