#include "gilscope/aggregate/timeline.h"

namespace gilscope {

bool Timeline::BeginSample(absl::Time at) {
  accepting_ = !truncated_ && sample_count() < kMaxTimelineSamples && run_count_ < kMaxTimelineRuns;
  if (!accepting_) {
    truncated_ = true;
    return false;
  }
  if (sample_offsets_ns_.empty()) start_ = at;
  sample_offsets_ns_.push_back(absl::ToInt64Nanoseconds(at - start_));
  return true;
}

uint32_t Timeline::InternText(absl::string_view text) {
  if (text.empty()) return 0;
  auto found = text_ids_.find(text);
  if (found != text_ids_.end()) return found->second;
  const uint32_t id = static_cast<uint32_t>(texts_.size());
  texts_.emplace_back(text);
  text_ids_.emplace(texts_.back(), id);
  return id;
}

void Timeline::AddThread(const ThreadSnapshot& thread, StackId stack, int64_t blame) {
  if (!accepting_) return;
  auto [index, added] = thread_index_.try_emplace(thread.native_id, threads_.size());
  if (added) threads_.emplace_back().native_id = thread.native_id;
  TimelineThread& line = threads_[index->second];
  // Python's name appears once the thread registers with threading; prefer it from then on.
  if (!thread.name.empty()) {
    if (line.name != thread.name) line.name = thread.name;
  } else if (line.name.empty()) {
    line.name = thread.os_name;
  }
  line.is_main |= thread.is_main;
  const int64_t sample = sample_count() - 1;
  const uint32_t blocked_in = InternText(thread.blocked_in);
  if (!line.runs.empty()) {
    TimelineRun& last = line.runs.back();
    if (last.end_sample() == sample && last.state == thread.state && last.stack == stack &&
        last.interpreter_id == thread.interpreter_id && last.blocked_in == blocked_in) {
      ++last.samples;
      last.blame += blame;
      return;
    }
  }
  line.runs.push_back(
      TimelineRun{sample, 1, thread.state, stack, thread.interpreter_id, blocked_in, blame});
  ++run_count_;
}

void Timeline::AddGil(const GilSnapshot& gil) {
  if (!accepting_) return;
  auto [index, added] = gil_index_.try_emplace(gil.interpreter_id, gils_.size());
  if (added) gils_.emplace_back().interpreter_id = gil.interpreter_id;
  GilTimeline& line = gils_[index->second];
  const int64_t sample = sample_count() - 1;
  const absl::Time at = start_ + SampleTime(sample);
  const bool held = gil.holder_thread >= 0;
  if (!line.points.empty()) {
    const GilPoint& last = line.points.back();
    const bool same = last.waiters == gil.waiters && last.held == held;
    const bool counter_due = gil.switch_number != last.switch_number &&
                             at - gil_point_at_[index->second] >= kGilPointSpacing;
    if (same && !counter_due) return;
  }
  line.points.push_back(GilPoint{sample, gil.waiters, held, gil.switch_number});
  gil_point_at_[index->second] = at;
}

}  // namespace gilscope
