// Stops every thread of a target for a consistent snapshot, and always lets it go again.
//
// Uses PTRACE_SEIZE + PTRACE_INTERRUPT rather than PTRACE_ATTACH: no SIGSTOP is queued, so
// when gilscope dies at any moment (even SIGKILL) the kernel detaches and the threads simply
// run on (kernel/ptrace.c, exit_ptrace). The destructor detaches on every other path.
//
// While it waits for threads to stop, Pause blocks SIGCHLD in the calling thread and sleeps
// until one arrives (the kernel sends one to the tracer at each stop); a SIGCHLD it takes is
// sent to the process again afterwards, so SIGCHLD handlers still see it.
#ifndef GILSCOPE_PROC_PROCESS_PAUSE_H_
#define GILSCOPE_PROC_PROCESS_PAUSE_H_

#include <sys/types.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gilscope/proc/pauser.h"

namespace gilscope {

class ProcessPause : public PausedProcess {
 public:
  // Seizes and stops every thread of `pid`, including threads started while pausing: it
  // returns once a listing of the threads, taken while every thread seized so far is stopped,
  // shows no other.
  // Fails with PermissionDenied (with the reason), NotFound (gone) or DeadlineExceeded.
  static absl::StatusOr<std::unique_ptr<ProcessPause>> Pause(
      pid_t pid, absl::Duration timeout = absl::Seconds(1));
  // Seizes and stops only the threads of `pid` among `tids`, and returns once they are
  // stopped; the others run on. Threads that exit meanwhile are skipped (none stopped is not
  // an error). Fails with PermissionDenied or DeadlineExceeded as Pause.
  static absl::StatusOr<std::unique_ptr<ProcessPause>> PauseThreads(
      pid_t pid, const std::vector<pid_t>& tids, absl::Duration timeout = absl::Seconds(1));
  ~ProcessPause() override;  // resumes every thread
  ProcessPause(const ProcessPause&) = delete;
  ProcessPause& operator=(const ProcessPause&) = delete;

  // The threads that are stopped now.
  std::vector<pid_t> stopped_threads() const;

  // When the first thread was asked to stop: the target is paused from then until the
  // destructor's last PTRACE_DETACH. For measuring how long a sample stops the target.
  absl::Time stop_requested_at() const { return stop_requested_at_; }

 private:
  struct Tracee {
    pid_t tid = 0;
    bool stopped = false;
    int signal_to_deliver = 0;  // a signal that arrived while we held it, re-injected on detach
  };
  class StopWaiter;  // sleeps until a tracee stops (SIGCHLD), with a bound

  explicit ProcessPause(pid_t pid) : pid_(pid) {}
  absl::Status StopAll(absl::Duration timeout);
  // Seizes and interrupts the threads among `tids` not seized yet; sets `seized_any`.
  absl::Status SeizeNew(const std::vector<pid_t>& tids, bool* seized_any);
  absl::Status WaitForStops(absl::Time deadline, absl::Duration timeout);
  // Takes `tracee`'s pending wait status, if any; true when there was one.
  bool Collect(Tracee& tracee);
  // A thread still traced by gilscope from an earlier pause (it did not stop in time to be
  // let go) refuses PTRACE_SEIZE with EPERM: takes it over, so this pause lets it go. False
  // when another tracer has it.
  bool AdoptOwnTracee(pid_t tid);
  Tracee* Find(pid_t tid);
  void Resume();

  pid_t pid_;
  std::vector<Tracee> tracees_;
  absl::Time stop_requested_at_ = absl::InfiniteFuture();
};

// Explains why ptrace may not attach to `pid`: another tracer, Yama's ptrace_scope, missing
// CAP_SYS_PTRACE. Used to build error messages.
std::string DiagnosePtraceDenied(pid_t pid);

}  // namespace gilscope

#endif  // GILSCOPE_PROC_PROCESS_PAUSE_H_
