#include "gilscope/proc/pauser.h"

#include "gilscope/proc/process_pause.h"

namespace gilscope {

absl::StatusOr<std::unique_ptr<PausedProcess>> PtracePauser::Pause() {
  absl::StatusOr<std::unique_ptr<ProcessPause>> paused = ProcessPause::Pause(pid_);
  if (!paused.ok()) return paused.status();
  return std::unique_ptr<PausedProcess>(std::move(*paused));
}

absl::StatusOr<std::unique_ptr<PausedProcess>> PtracePauser::PauseThreads(
    const std::vector<pid_t>& tids) {
  absl::StatusOr<std::unique_ptr<ProcessPause>> paused = ProcessPause::PauseThreads(pid_, tids);
  if (!paused.ok()) return paused.status();
  return std::unique_ptr<PausedProcess>(std::move(*paused));
}

}  // namespace gilscope
