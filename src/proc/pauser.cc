#include "gilscope/proc/pauser.h"

#include "gilscope/proc/process_pause.h"

namespace gilscope {

absl::StatusOr<std::unique_ptr<PausedProcess>> PtracePauser::Pause() {
  absl::StatusOr<std::unique_ptr<ProcessPause>> paused = ProcessPause::Pause(pid_);
  if (!paused.ok()) return paused.status();
  return std::unique_ptr<PausedProcess>(std::move(*paused));
}

}  // namespace gilscope
