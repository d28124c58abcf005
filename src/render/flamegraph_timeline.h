// The flame graph's timeline view, as the JSON flamegraph.js draws it from: one lane per thread
// of runs coloured by GIL state, and what the script needs to recompute every flame view over a
// selected time range (runs with their stack, blame and interpreter; the stacks as label ids;
// sample times). Private to the flame graph's sources.
#ifndef GILSCOPE_RENDER_FLAMEGRAPH_TIMELINE_H_
#define GILSCOPE_RENDER_FLAMEGRAPH_TIMELINE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/render/record_output.h"

namespace gilscope {

// Runs embedded as they are up to this many (~30 bytes of JSON each, so about 3 MB). Past it the
// lanes are bucketed (the dominant state of each thread in each of a bounded number of time
// buckets) and range selection is off: a bucket's weights per view are not kept, and totals
// made up from dominant states would mislead.
inline constexpr int64_t kMaxEmbeddedRuns = 100'000;
inline constexpr int64_t kMaxCoarseBuckets = 1000;  // per thread, when bucketed
// Sample times are embedded every `stride` samples, the stride chosen to keep at most this many
// (exact when the recording has fewer samples; interpolated between entries otherwise).
inline constexpr int64_t kMaxTimeEntries = 10'000;

// Target text made fit for XML and for the JSON in the SVG (flamegraph_svg.cc).
std::string FlameSafeText(absl::string_view text);

// The labels of every stack the timeline embeds, safe, added to `labels`; those of native
// frames also to `native_labels`.
void CollectTimelineLabels(const Profile& profile, const RecordingInfo& info,
                           std::vector<std::string>& labels,
                           absl::flat_hash_set<std::string>& native_labels);

// The timeline; `label_index` holds every label CollectTimelineLabels gave. Null when the
// recording has no sample in its timeline.
nlohmann::json TimelineJson(const Profile& profile, const RecordingInfo& info,
                            const absl::flat_hash_map<std::string, int>& label_index);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_FLAMEGRAPH_TIMELINE_H_
