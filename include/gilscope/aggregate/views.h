// What the renderers draw: one view of a Profile as a list of weighted stacks, and the
// heaviest sites of a view for the summary. Shared so every output format agrees.
#ifndef GILSCOPE_AGGREGATE_VIEWS_H_
#define GILSCOPE_AGGREGATE_VIEWS_H_

#include <cstdint>
#include <vector>

#include "gilscope/aggregate/profile.h"

namespace gilscope {

// Wall and cpu views tag each stack with its thread's state; the GIL views do not.
bool ViewTagsState(ProfileMode mode);

struct ViewStack {
  std::vector<FrameId> frames;  // root first; empty for a thread with no Python frames
  ThreadState state;            // meaningful where ViewTagsState(mode)
  int64_t weight;
};

// Every stack of `mode` with a positive weight, heaviest first, ties broken by frames so the
// output is the same for the same recording. Untagged views merge stacks that differ only in state.
std::vector<ViewStack> ViewStacks(const Profile& profile, ProfileMode mode);
int64_t TotalWeight(const std::vector<ViewStack>& stacks);

// The innermost frames carrying the most weight in `mode` (self weight), heaviest first:
// "top functions by blame" and "top waiting sites".
struct SiteWeight {
  FrameId frame;
  int64_t weight;
};
std::vector<SiteWeight> TopLeafFrames(const Profile& profile, ProfileMode mode, size_t limit);

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_VIEWS_H_
