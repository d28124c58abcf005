#include "gilscope/aggregate/stack_table.h"

namespace gilscope {

FrameId StackTable::InternFrame(const Frame& frame) {
  auto found =
      frame_ids_.find(FrameKey{frame.function.str(), frame.file.str(), frame.line, frame.kind});
  if (found != frame_ids_.end()) return found->second;
  const Frame& kept = frames_.emplace_back(frame);
  const FrameId id = static_cast<FrameId>(frames_.size() - 1);
  frame_ids_.emplace(FrameKey{kept.function.str(), kept.file.str(), kept.line, kept.kind}, id);
  return id;
}

StackId StackTable::InternStack(const std::vector<FrameId>& frames_root_first) {
  auto [it, inserted] =
      stack_ids_.try_emplace(frames_root_first, static_cast<StackId>(stacks_.size()));
  if (inserted) stacks_.push_back(frames_root_first);
  return it->second;
}

}  // namespace gilscope
