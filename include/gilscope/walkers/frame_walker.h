// Walks one thread's Python call stack, innermost frame first.
#ifndef GILSCOPE_WALKERS_FRAME_WALKER_H_
#define GILSCOPE_WALKERS_FRAME_WALKER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/walkers/code_reader.h"

namespace gilscope {

// Deeper chains are taken as corrupt (CPython's default recursion limit is 1000).
inline constexpr int kMaxFrames = 4096;

struct PythonFrame {
  std::string function;  // qualified name where the version has one
  std::string file;
  int line = -1;         // -1 when the line table gives none
  bool operator==(const PythonFrame&) const = default;
};

// `top_frame` is the innermost frame: a PyFrameObject (<= 3.10) or a _PyInterpreterFrame
// (3.11+). Fails on unreadable memory, a chain that loops, or one deeper than kMaxFrames.
absl::StatusOr<std::vector<PythonFrame>> WalkFrames(RemoteMemory& memory, const PythonLayout& layout,
                                                    CodeReader& codes, RemoteAddress top_frame);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_FRAME_WALKER_H_
