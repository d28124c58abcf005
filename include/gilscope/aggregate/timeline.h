// What happened over time, for the outputs with a time axis (the Perfetto trace, the flame
// graph's timeline view) and those labelling samples by thread (pprof): for each thread, runs
// of consecutive samples in one GIL state with one stack; for each GIL, its waiters and
// hand-off counter as they changed. Stacks are ids in the Profile's StackTable, which feeds it.
//
// Bounded: a recording long and fast enough to pass kMaxTimelineSamples samples or
// kMaxTimelineRuns runs keeps its timeline up to there (truncated() says so); the Profile's
// totals go on counting.
#ifndef GILSCOPE_AGGREGATE_TIMELINE_H_
#define GILSCOPE_AGGREGATE_TIMELINE_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gilscope/aggregate/stack_table.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope {

inline constexpr int64_t kMaxTimelineSamples = 4'000'000;  // 32 MB of sample times
inline constexpr int64_t kMaxTimelineRuns = 2'000'000;     // ~100 MB of runs
// A GIL's counters are noted at least this often while they change, so hand-offs per second
// can be drawn over time without a point per sample.
inline constexpr absl::Duration kGilPointSpacing = absl::Milliseconds(10);

// Consecutive samples of one thread with the same state, stack, interpreter and system call.
struct TimelineRun {
  int64_t first_sample = 0;  // index of its first sample (Timeline::SampleTime)
  int64_t samples = 0;
  ThreadState state = ThreadState::kUnknown;
  StackId stack = 0;
  int64_t interpreter_id = -1;
  uint32_t blocked_in = 0;  // Timeline::Text id of the system call it was idle in; 0: none
  int64_t blame = 0;        // over the run: threads waiting for the GIL it held, summed
  int64_t end_sample() const { return first_sample + samples; }
};

struct TimelineThread {
  pid_t native_id = 0;
  std::string name;  // Python's thread name, else the OS one; from the target: untrusted
  bool is_main = false;
  std::vector<TimelineRun> runs;  // in time order
};

// A GIL's state at a sample where it changed (or kGilPointSpacing after the last point).
struct GilPoint {
  int64_t sample = 0;
  int waiters = 0;
  bool held = false;
  std::optional<uint64_t> switch_number;  // CPython's hand-off counter, where it has one
};

struct GilTimeline {
  int64_t interpreter_id = 0;  // its first user, as GilSnapshot says
  std::vector<GilPoint> points;
};

class Timeline {
 public:
  // Starts the next sample, taken at `at`. False once the timeline is full: the sample and
  // its threads and GILs are then left out.
  bool BeginSample(absl::Time at);
  // A Python thread of the sample begun last, with its interned stack and blame weight.
  void AddThread(const ThreadSnapshot& thread, StackId stack, int64_t blame);
  void AddGil(const GilSnapshot& gil);

  int64_t sample_count() const { return static_cast<int64_t>(sample_offsets_ns_.size()); }
  // Since the first sample.
  absl::Duration SampleTime(int64_t sample) const {
    return absl::Nanoseconds(sample_offsets_ns_[static_cast<size_t>(sample)]);
  }
  absl::Time start() const { return start_; }
  const std::deque<TimelineThread>& threads() const { return threads_; }  // first seen first
  const std::vector<GilTimeline>& gils() const { return gils_; }          // first seen first
  absl::string_view Text(uint32_t id) const { return texts_[id]; }
  bool truncated() const { return truncated_; }
  int64_t run_count() const { return run_count_; }

 private:
  uint32_t InternText(absl::string_view text);

  absl::Time start_;
  std::vector<int64_t> sample_offsets_ns_;
  std::deque<TimelineThread> threads_;
  absl::flat_hash_map<pid_t, size_t> thread_index_;
  std::vector<GilTimeline> gils_;
  absl::flat_hash_map<int64_t, size_t> gil_index_;
  absl::flat_hash_map<size_t, absl::Time> gil_point_at_;  // by gil index: its last point's time
  std::deque<std::string> texts_ = {""};
  absl::flat_hash_map<std::string, uint32_t> text_ids_;
  int64_t run_count_ = 0;
  bool truncated_ = false;
  bool accepting_ = false;  // the sample begun last is being kept
};

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_TIMELINE_H_
