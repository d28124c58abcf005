// Walks one thread's Python call stack, innermost frame first.
#ifndef GILSCOPE_WALKERS_FRAME_WALKER_H_
#define GILSCOPE_WALKERS_FRAME_WALKER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/sample/frame.h"
#include "gilscope/walkers/code_reader.h"

namespace gilscope {

// Deeper chains are taken as corrupt (CPython's default recursion limit is 1000).
inline constexpr int kMaxFrames = 4096;

// What merging with a native stack, and classifying the holder, need beyond the frames.
struct FrameWalkDetail {
  // Per returned frame: true for the outermost frame of the frames one C-level call of the
  // evaluation loop runs (<= 3.10: every frame; 3.11: _PyInterpreterFrame.is_entry; 3.12+: the
  // frame just inside a C-stack-owned shim frame, and the outermost frame). Each such group
  // matches one eval-loop frame of the native stack.
  std::vector<bool> starts_eval_call;
  // The opcode the innermost frame is executing (its current instruction) as stored in the
  // bytecode, so a specialized or instrumented form in 3.11+; -1 when unknown (not started,
  // unreadable). Compare with PythonLayout::CallsNative.
  int innermost_opcode = -1;
};

// `top_frame` is the innermost frame: a PyFrameObject (<= 3.10) or a _PyInterpreterFrame
// (3.11+). Fails on unreadable memory, a chain that loops, or one deeper than kMaxFrames.
// `detail`, when given, is filled for the frames returned.
absl::StatusOr<std::vector<Frame>> WalkFrames(RemoteMemory& memory, const PythonLayout& layout,
                                              CodeReader& codes, RemoteAddress top_frame,
                                              FrameWalkDetail* detail = nullptr);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_FRAME_WALKER_H_
