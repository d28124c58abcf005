#include "gilscope/sampler/sampling_loop.h"

#include <errno.h>
#include <time.h>

#include <cmath>

namespace gilscope {

absl::Time MonotonicClock::Now() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::TimeFromTimespec(now);
}

void MonotonicClock::SleepUntil(absl::Time deadline) {
  const timespec until = absl::ToTimespec(deadline);
  // EINTR returns at once: the caller re-checks its stop flag, then sleeps again if needed.
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr);
}

const char* SamplingEndName(SamplingEnd end) {
  switch (end) {
    case SamplingEnd::kDurationReached:
      return "duration reached";
    case SamplingEnd::kStopped:
      return "interrupted";
    case SamplingEnd::kTargetExited:
      return "target exited";
    case SamplingEnd::kTargetReplaced:
      return "target exec'd another program";
    case SamplingEnd::kFailed:
      return "sampling failed";
  }
  return "?";
}

SamplingStats RunSamplingLoop(const SamplingSchedule& schedule, const SamplingHooks& hooks,
                              Clock& clock) {
  SamplingStats stats;
  const absl::Duration period = absl::Seconds(1.0 / schedule.rate_hz);
  const absl::Time start = clock.Now();
  const std::optional<absl::Time> end =
      schedule.duration ? std::optional<absl::Time>(start + *schedule.duration) : std::nullopt;
  absl::Time slot = start;
  absl::Time next_progress = start + hooks.progress_every;
  int consecutive_failures = 0;

  auto finish = [&](SamplingEnd why) {
    stats.end = why;
    stats.elapsed = clock.Now() - start;
    if (hooks.on_progress) hooks.on_progress(stats);
    return stats;
  };

  while (true) {
    if (hooks.should_stop && hooks.should_stop()) return finish(SamplingEnd::kStopped);
    if (end && slot >= *end) return finish(SamplingEnd::kDurationReached);
    absl::Time now = clock.Now();
    if (now < slot) {
      clock.SleepUntil(slot);
      continue;  // woken early by a signal, or on time: re-check the stop flag either way
    }
    if (now - slot > period) ++stats.late;

    const absl::Time taken_at = now;
    absl::StatusOr<Snapshot> snapshot = hooks.take();
    if (snapshot.ok()) {
      consecutive_failures = 0;
      ++stats.taken;
      if (hooks.on_sample) hooks.on_sample(*snapshot, taken_at);
    } else {
      const FailureMeaning meaning =
          hooks.classify ? hooks.classify(snapshot.status()) : Classify(snapshot.status());
      if (meaning == FailureMeaning::kTargetExited) return finish(SamplingEnd::kTargetExited);
      if (meaning == FailureMeaning::kTargetReplaced) return finish(SamplingEnd::kTargetReplaced);
      ++stats.failed;
      if (hooks.on_failed_sample) hooks.on_failed_sample();
      if (meaning == FailureMeaning::kFatal || ++consecutive_failures >= kMaxConsecutiveFailures) {
        stats.failure = snapshot.status();
        return finish(SamplingEnd::kFailed);
      }
    }

    slot += period;
    now = clock.Now();
    if (now - slot >= period) {  // whole slots already past: skip them rather than burst
      const int64_t skipped = static_cast<int64_t>(std::floor((now - slot) / period));
      stats.missed += skipped;
      slot += skipped * period;
    }
    if (hooks.on_progress && now >= next_progress) {
      stats.elapsed = now - start;
      hooks.on_progress(stats);
      next_progress = now + hooks.progress_every;
    }
  }
}

}  // namespace gilscope
