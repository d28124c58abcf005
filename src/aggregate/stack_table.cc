#include "gilscope/aggregate/stack_table.h"

namespace gilscope {

FrameId StackTable::InternFrame(const Frame& frame) {
  SharedFrameKey shared{frame.function, frame.file, frame.line, frame.kind};
  auto seen = shared_frame_ids_.find(shared);
  if (seen != shared_frame_ids_.end()) return seen->second;
  FrameId id;
  auto found =
      frame_ids_.find(FrameKey{frame.function.str(), frame.file.str(), frame.line, frame.kind});
  if (found != frame_ids_.end()) {
    id = found->second;
  } else {
    const Frame& kept = frames_.emplace_back(frame);
    id = static_cast<FrameId>(frames_.size() - 1);
    frame_ids_.emplace(FrameKey{kept.function.str(), kept.file.str(), kept.line, kept.kind}, id);
  }
  // Texts made afresh for every frame (native symbols) would pile up here: bounded.
  if (shared_frame_ids_.size() >= kMaxSharedFrameKeys) shared_frame_ids_.clear();
  shared_frame_ids_.emplace(std::move(shared), id);
  return id;
}

StackId StackTable::InternStack(const std::vector<FrameId>& frames_root_first) {
  auto [it, inserted] =
      stack_ids_.try_emplace(frames_root_first, static_cast<StackId>(stacks_.size()));
  if (inserted) stacks_.push_back(frames_root_first);
  return it->second;
}

}  // namespace gilscope
