#include "gilscope/sample/thread_state.h"

namespace gilscope {

const char* ThreadStateName(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
      return "holding_gil";
    case ThreadState::kHoldingGilInNative:
      return "holding_gil_in_native";
    case ThreadState::kWaitingForGil:
      return "waiting_for_gil";
    case ThreadState::kRunningWithoutGil:
      return "running_without_gil";
    case ThreadState::kIdle:
      return "idle";
    case ThreadState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

const char* GilRoleName(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
    case ThreadState::kHoldingGilInNative:
      return "held";
    case ThreadState::kWaitingForGil:
      return "waiting";
    default:
      return "released";
  }
}

}  // namespace gilscope
