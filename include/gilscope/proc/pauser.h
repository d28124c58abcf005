// Pausing a target around a snapshot, behind an interface so the sampler can be tested on a
// made-up process. PtracePauser is the real one (ProcessPause).
#ifndef GILSCOPE_PROC_PAUSER_H_
#define GILSCOPE_PROC_PAUSER_H_

#include <sys/types.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace gilscope {

// The target stays stopped while this lives; destroying it lets every thread go again.
class PausedProcess {
 public:
  virtual ~PausedProcess() = default;
};

class ProcessPauser {
 public:
  virtual ~ProcessPauser() = default;
  // Stops every thread of the target. Errors as ProcessPause::Pause: PermissionDenied (with
  // the reason), NotFound (gone), DeadlineExceeded.
  virtual absl::StatusOr<std::unique_ptr<PausedProcess>> Pause() = 0;
  // Stops the target's threads among `tids` (ProcessPause::PauseThreads); the others run on.
  virtual absl::StatusOr<std::unique_ptr<PausedProcess>> PauseThreads(
      const std::vector<pid_t>& tids) = 0;
};

class PtracePauser : public ProcessPauser {
 public:
  explicit PtracePauser(pid_t pid) : pid_(pid) {}
  absl::StatusOr<std::unique_ptr<PausedProcess>> Pause() override;
  absl::StatusOr<std::unique_ptr<PausedProcess>> PauseThreads(
      const std::vector<pid_t>& tids) override;

 private:
  pid_t pid_;
};

}  // namespace gilscope

#endif  // GILSCOPE_PROC_PAUSER_H_
