#include "gilscope/aggregate/views.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace gilscope {

bool ViewTagsState(ProfileMode mode) {
  return mode == ProfileMode::kWall || mode == ProfileMode::kCpu;
}

std::vector<ViewStack> ViewStacks(const Profile& profile, ProfileMode mode,
                                  ByInterpreter by_interpreter) {
  const bool tagged = ViewTagsState(mode);
  const bool split = by_interpreter == ByInterpreter::kSplit;
  // Ordered map: deterministic merge of untagged keys before sorting by weight.
  std::map<std::tuple<StackId, int, int64_t>, int64_t> merged;
  for (const auto& [key, weight] : profile.weights(mode)) {
    if (weight <= 0) continue;
    const int state =
        tagged ? static_cast<int>(key.state) : static_cast<int>(ThreadState::kHoldingGil);
    merged[{key.stack, state, split ? key.interpreter_id : -1}] += weight;
  }
  std::vector<ViewStack> stacks;
  stacks.reserve(merged.size());
  for (const auto& [key, weight] : merged) {
    const auto& [stack, state_number, interpreter_id] = key;
    ThreadState state = static_cast<ThreadState>(state_number);
    if (!tagged) {
      state = mode == ProfileMode::kWait ? ThreadState::kWaitingForGil : ThreadState::kHoldingGil;
    }
    stacks.push_back(ViewStack{profile.stacks().stack(stack), state, weight, interpreter_id});
  }
  std::sort(stacks.begin(), stacks.end(), [](const ViewStack& a, const ViewStack& b) {
    return std::tie(b.weight, a.interpreter_id, a.frames, a.state) <
           std::tie(a.weight, b.interpreter_id, b.frames, b.state);
  });
  return stacks;
}

int64_t TotalWeight(const std::vector<ViewStack>& stacks) {
  int64_t total = 0;
  for (const ViewStack& stack : stacks) total += stack.weight;
  return total;
}

std::vector<SiteWeight> TopLeafFrames(const Profile& profile, ProfileMode mode, size_t limit) {
  std::map<FrameId, int64_t> by_frame;
  for (const auto& [key, weight] : profile.weights(mode)) {
    const std::vector<FrameId>& frames = profile.stacks().stack(key.stack);
    if (!frames.empty() && weight > 0) by_frame[frames.back()] += weight;
  }
  std::vector<SiteWeight> sites;
  for (const auto& [frame, weight] : by_frame) sites.push_back(SiteWeight{frame, weight});
  std::stable_sort(sites.begin(), sites.end(),
                   [](const SiteWeight& a, const SiteWeight& b) { return a.weight > b.weight; });
  if (sites.size() > limit) sites.resize(limit);
  return sites;
}

}  // namespace gilscope
