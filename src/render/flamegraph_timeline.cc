#include "flamegraph_timeline.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "gilscope/render/stack_labels.h"

namespace gilscope {
namespace {

constexpr size_t kStates = 6;  // ThreadState's values

// A thread's lane as embedded: its runs, or its buckets' dominant runs when bucketed.
struct Lane {
  const TimelineThread* thread;
  std::vector<TimelineRun> runs;
};

// Per bucket of one thread: samples per state, and per state the run covering most of them.
struct Bucket {
  std::array<int64_t, kStates> samples{};
  std::array<int64_t, kStates> best{};
  std::array<const TimelineRun*, kStates> run{};
};

// The thread's runs merged into `count` buckets of samples: each bucket becomes its dominant
// state with the stack of the run that covered most of it; equal neighbours join.
std::vector<TimelineRun> Bucketed(const TimelineThread& thread, int64_t sample_count,
                                  int64_t count) {
  const auto start = [&](int64_t bucket) { return bucket * sample_count / count; };
  std::vector<Bucket> buckets(static_cast<size_t>(count));
  int64_t b = 0;
  for (const TimelineRun& run : thread.runs) {
    for (int64_t at = run.first_sample; at < run.end_sample();) {
      while (start(b + 1) <= at) ++b;
      const int64_t until = std::min(run.end_sample(), start(b + 1));
      const size_t state = static_cast<size_t>(run.state);
      Bucket& bucket = buckets[static_cast<size_t>(b)];
      bucket.samples[state] += until - at;
      if (until - at > bucket.best[state]) {
        bucket.best[state] = until - at;
        bucket.run[state] = &run;
      }
      at = until;
    }
  }
  std::vector<TimelineRun> merged;
  for (int64_t i = 0; i < count; ++i) {
    const Bucket& bucket = buckets[static_cast<size_t>(i)];
    const size_t state = static_cast<size_t>(
        std::max_element(bucket.samples.begin(), bucket.samples.end()) - bucket.samples.begin());
    if (bucket.samples[state] == 0) continue;  // the thread was not sampled in this bucket
    const TimelineRun& dominant = *bucket.run[state];
    if (!merged.empty()) {
      TimelineRun& last = merged.back();
      if (last.end_sample() == start(i) && last.state == dominant.state &&
          last.stack == dominant.stack && last.interpreter_id == dominant.interpreter_id) {
        last.samples = start(i + 1) - last.first_sample;
        continue;
      }
    }
    merged.push_back(TimelineRun{start(i), start(i + 1) - start(i), dominant.state, dominant.stack,
                                 dominant.interpreter_id, 0, 0});
  }
  return merged;
}

bool Bucketing(const Timeline& timeline) { return timeline.run_count() > kMaxEmbeddedRuns; }

std::vector<Lane> Lanes(const Timeline& timeline) {
  std::vector<Lane> lanes;
  const int64_t threads = std::max<int64_t>(1, static_cast<int64_t>(timeline.threads().size()));
  const int64_t buckets =
      std::min(timeline.sample_count(),
               std::clamp(kMaxEmbeddedRuns / threads, int64_t{10}, kMaxCoarseBuckets));
  for (const TimelineThread& thread : timeline.threads()) {
    lanes.push_back({&thread, Bucketing(timeline)
                                  ? Bucketed(thread, timeline.sample_count(), buckets)
                                  : thread.runs});
  }
  return lanes;
}

// Each stack's labels, root first, as the flame views label them.
class StackLabeler {
 public:
  explicit StackLabeler(const Profile& profile) : profile_(profile) {}

  std::vector<std::string> Labels(StackId stack) {
    const std::vector<FrameId>& frames = profile_.stacks().stack(stack);
    if (frames.empty()) return {kNoPythonFramesLabel};
    std::vector<std::string> labels;
    for (FrameId frame : frames) {
      auto [it, added] = texts_.try_emplace(frame);
      if (added) it->second = FlameSafeText(FrameLabel(profile_.stacks().frame(frame)));
      labels.push_back(it->second);
    }
    return labels;
  }
  bool Native(FrameId frame) const {
    return profile_.stacks().frame(frame).kind == FrameKind::kNative;
  }

 private:
  const Profile& profile_;
  absl::flat_hash_map<FrameId, std::string> texts_;
};

double Seconds(absl::Duration duration) {
  return std::round(absl::ToDoubleMicroseconds(duration)) / 1e6;
}

}  // namespace

void CollectTimelineLabels(const Profile& profile, const RecordingInfo& info,
                           std::vector<std::string>& labels,
                           absl::flat_hash_set<std::string>& native_labels) {
  StackLabeler labeler(profile);
  absl::flat_hash_set<StackId> seen;
  absl::flat_hash_set<int64_t> interpreters;
  for (const Lane& lane : Lanes(profile.timeline())) {
    for (const TimelineRun& run : lane.runs) {
      if (info.by_interpreter && interpreters.insert(run.interpreter_id).second) {
        labels.push_back(InterpreterFrameLabel(run.interpreter_id));
      }
      if (!seen.insert(run.stack).second) continue;
      std::vector<std::string> stack = labeler.Labels(run.stack);
      const std::vector<FrameId>& frames = profile.stacks().stack(run.stack);
      for (size_t i = 0; i < frames.size(); ++i) {
        if (labeler.Native(frames[i])) native_labels.insert(stack[i]);
      }
      labels.insert(labels.end(), stack.begin(), stack.end());
    }
  }
}

nlohmann::json TimelineJson(const Profile& profile, const RecordingInfo& info,
                            const absl::flat_hash_map<std::string, int>& label_index) {
  const Timeline& timeline = profile.timeline();
  const int64_t samples = timeline.sample_count();
  if (samples == 0) return nullptr;
  // Sample i lasts until sample i + 1; the last one for the mean interval.
  const absl::Duration last = timeline.SampleTime(samples - 1);
  const absl::Duration end =
      samples > 1 ? last + last / (samples - 1) : last + absl::Milliseconds(10);
  const int64_t stride = (samples + kMaxTimeEntries - 1) / kMaxTimeEntries;
  // Kept in order (the script searches them) should the clock have stepped back.
  nlohmann::json times = nlohmann::json::array();
  absl::Duration latest = absl::ZeroDuration();
  for (int64_t i = 0; i < samples; ++i) {
    latest = std::max(latest, timeline.SampleTime(i));
    if (i % stride == 0) times.push_back(Seconds(latest));
  }
  times.push_back(Seconds(std::max(latest, end)));

  StackLabeler labeler(profile);
  absl::flat_hash_map<StackId, int> stack_index;
  nlohmann::json stacks = nlohmann::json::array();
  absl::flat_hash_map<int64_t, int> interpreters;
  nlohmann::json threads = nlohmann::json::array();
  for (const Lane& lane : Lanes(timeline)) {
    nlohmann::json runs = nlohmann::json::array();
    for (const TimelineRun& run : lane.runs) {
      auto [it, added] = stack_index.try_emplace(run.stack, static_cast<int>(stacks.size()));
      if (added) {
        nlohmann::json ids = nlohmann::json::array();
        for (const std::string& label : labeler.Labels(run.stack)) {
          ids.push_back(label_index.at(label));
        }
        stacks.push_back(std::move(ids));
      }
      if (info.by_interpreter) {
        interpreters.try_emplace(run.interpreter_id,
                                 label_index.at(InterpreterFrameLabel(run.interpreter_id)));
      }
      for (int64_t field : {run.first_sample, run.samples, static_cast<int64_t>(run.state),
                            static_cast<int64_t>(it->second), run.blame, run.interpreter_id,
                            static_cast<int64_t>(run.blocked_in != 0)}) {
        runs.push_back(field);
      }
    }
    threads.push_back({{"name", FlameSafeText(lane.thread->name)},
                       {"tid", lane.thread->native_id},
                       {"main", lane.thread->is_main},
                       {"runs", std::move(runs)}});
  }
  nlohmann::json interpreter_labels = nlohmann::json::array();
  for (const auto& [id, label] : interpreters) interpreter_labels.push_back({id, label});
  std::sort(interpreter_labels.begin(), interpreter_labels.end());
  return {
      {"samples", samples},
      {"stride", stride},
      {"times", std::move(times)},  // seconds; entry j at sample min(j * stride, samples)
      {"truncated", timeline.truncated()},
      {"coarse", Bucketing(timeline)},
      {"idleKept", info.idle_kept},
      {"split", info.by_interpreter},
      {"interpreters", std::move(interpreter_labels)},
      {"stacks", std::move(stacks)},
      {"threads", std::move(threads)},
  };
}

}  // namespace gilscope
