#include "gilscope/aggregate/stack_table.h"

namespace gilscope {

FrameId StackTable::InternFrame(const Frame& frame) {
  auto [it, inserted] =
      frame_ids_.try_emplace(FrameKey{frame.function, frame.file, frame.line, frame.kind},
                             static_cast<FrameId>(frames_.size()));
  if (inserted) frames_.push_back(frame);
  return it->second;
}

StackId StackTable::InternStack(const std::vector<FrameId>& frames_root_first) {
  auto [it, inserted] =
      stack_ids_.try_emplace(frames_root_first, static_cast<StackId>(stacks_.size()));
  if (inserted) stacks_.push_back(frames_root_first);
  return it->second;
}

}  // namespace gilscope
