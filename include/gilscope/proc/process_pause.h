// Stops every thread of a target for a consistent snapshot, and always lets it go again.
//
// Uses PTRACE_SEIZE + PTRACE_INTERRUPT rather than PTRACE_ATTACH: no SIGSTOP is queued, so
// when gilscope dies at any moment (even SIGKILL) the kernel detaches and the threads simply
// run on (kernel/ptrace.c, exit_ptrace). The destructor detaches on every other path.
#ifndef GILSCOPE_PROC_PROCESS_PAUSE_H_
#define GILSCOPE_PROC_PROCESS_PAUSE_H_

#include <sys/types.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gilscope {

class ProcessPause {
 public:
  // Seizes and stops every thread of `pid`, including threads started while pausing.
  // Fails with PermissionDenied (with the reason), NotFound (gone) or DeadlineExceeded.
  static absl::StatusOr<std::unique_ptr<ProcessPause>> Pause(pid_t pid,
                                                             absl::Duration timeout = absl::Seconds(1));
  ~ProcessPause();  // resumes every thread
  ProcessPause(const ProcessPause&) = delete;
  ProcessPause& operator=(const ProcessPause&) = delete;

  // The threads that are stopped now.
  std::vector<pid_t> stopped_threads() const;

 private:
  struct Tracee {
    pid_t tid = 0;
    bool stopped = false;
    int signal_to_deliver = 0;  // a signal that arrived while we held it, re-injected on detach
  };
  explicit ProcessPause(pid_t pid) : pid_(pid) {}
  absl::Status SeizeAll();
  absl::Status WaitForStops(absl::Duration timeout);
  void Resume();

  pid_t pid_;
  std::vector<Tracee> tracees_;
};

// Explains why ptrace may not attach to `pid`: another tracer, Yama's ptrace_scope, missing
// CAP_SYS_PTRACE. Used to build error messages.
std::string DiagnosePtraceDenied(pid_t pid);

}  // namespace gilscope

#endif  // GILSCOPE_PROC_PROCESS_PAUSE_H_
