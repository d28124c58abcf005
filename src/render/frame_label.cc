#include "absl/strings/str_cat.h"
#include "gilscope/render/record_output.h"

namespace gilscope {

std::string FrameLabel(const Frame& frame) {
  // A frame of gilscope's own (record --subprocesses: a process's root) has no file.
  if (frame.file.str().empty() && frame.line < 0) return frame.function.str();
  if (frame.line < 0) return absl::StrCat(frame.function.str(), " (", frame.file.str(), ")");
  return absl::StrCat(frame.function.str(), " (", frame.file.str(), ":", frame.line, ")");
}

const char* StateWords(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
      return "holding GIL";
    case ThreadState::kHoldingGilInNative:
      return "holding GIL in native code";
    case ThreadState::kWaitingForGil:
      return "waiting for GIL";
    case ThreadState::kRunningWithoutGil:
      return "running without GIL";
    case ThreadState::kIdle:
      return "idle";
    case ThreadState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace gilscope
