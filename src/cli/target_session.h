// A Python program being sampled, as `record` and `top` both hold it: launched (-- COMMAND) or
// attached (--pid), its interpreter located, and the snapshot taker ready, with the hooks that
// take a sample and tell what a failed one means.
#ifndef GILSCOPE_CLI_TARGET_SESSION_H_
#define GILSCOPE_CLI_TARGET_SESSION_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/child_process.h"
#include "gilscope/proc/cpu_budget.h"
#include "gilscope/proc/exec_watch.h"
#include "gilscope/proc/pauser.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/sample/free_threaded_gil.h"
#include "gilscope/sampler/paused_snapshot.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {

struct TargetSessionOptions {
  pid_t pid = 0;                     // 0 in launch mode
  std::vector<std::string> command;  // launch mode: what follows "--"
  bool native = false;               // --native
  bool keep_plumbing = false;        // --native-all
  bool nonblocking = false;
  int rate_hz = 100;
};

// Not movable: the taker keeps references to the target, memory and task reader held here.
class TargetSession {
 public:
  explicit TargetSession(const TargetSessionOptions& options) : options_(options) {}
  TargetSession(const TargetSession&) = delete;
  TargetSession& operator=(const TargetSession&) = delete;

  // Launches the program or attaches to --pid, finds its interpreter and prepares the taker;
  // a warning from locating it is printed. A launched program that cannot be sampled is killed.
  absl::Status Start();

  // Hooks that take a sample the way the options say (record's pause, or none), count how
  // long the target was stopped, and classify failures knowing the launched child and exec;
  // the caller adds on_sample, should_stop and the rest. With --native, one sample is taken
  // and dropped first, to read the native objects' tables before the schedule starts.
  SamplingHooks Hooks();

  // Ends the launched program's life with gilscope's (see FinishChild).
  void Finish(bool stopped_by_signal);
  // Ends the launched program now (see StopLaunched); nothing when attached.
  void StopChild();

  pid_t pid() const { return pid_; }
  const PythonTarget& target() const { return *target_; }
  SnapshotTaker& taker() { return *taker_; }
  const ChildProcess* child() const { return child_ ? &*child_ : nullptr; }
  bool ChildExited() { return child_ && child_->HasExited(); }
  const ExecWatch* exec_watch() const { return exec_watch_ ? &*exec_watch_ : nullptr; }
  absl::Duration paused_total() const { return paused_total_; }
  // The CPUs the target may use, read once it was found (for the what-if estimate).
  const CpuBudget& cpu_budget() const { return cpu_budget_; }

  // Free-threaded targets: why the GIL is on, as last read. RefreshFreeThreadedGil reads it
  // again when a second has passed since the last read (always with `now`); a failed read (the
  // target gone) keeps what was known.
  const FreeThreadedGil& free_threaded_gil() const { return free_threaded_gil_; }
  void RefreshFreeThreadedGil(bool now = false);

 private:
  const TargetSessionOptions options_;
  std::optional<ChildProcess> child_;  // launch mode
  pid_t pid_ = 0;
  std::optional<ProcessMemory> memory_;
  std::optional<PythonTarget> target_;
  std::optional<ProcTaskReader> tasks_;
  std::optional<SnapshotTaker> taker_;
  std::optional<ExecWatch> exec_watch_;  // noted when the hooks are made, as sampling starts
  std::optional<PtracePauser> pauser_;
  absl::Duration paused_total_;
  CpuBudget cpu_budget_;
  FreeThreadedGil free_threaded_gil_;
  absl::Time free_threaded_gil_read_ = absl::InfinitePast();
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_TARGET_SESSION_H_
