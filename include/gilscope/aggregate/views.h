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
  int64_t interpreter_id = -1;  // with ByInterpreter::kSplit: the interpreter the stack ran in
};

// Whether stacks of different interpreters are kept apart (drawn under an "interpreter N" root).
enum class ByInterpreter { kMerged, kSplit };

// Every stack of `mode` with a positive weight, heaviest first, ties broken by frames so the
// output is the same for the same recording. Untagged views merge stacks that differ only in
// state; unless split, stacks that differ only in interpreter are merged too.
std::vector<ViewStack> ViewStacks(const Profile& profile, ProfileMode mode,
                                  ByInterpreter by_interpreter = ByInterpreter::kMerged);
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
