#include "cli/target_session.h"

#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/launched_program.h"
#include "cli/record_options.h"
#include "gilscope/sampler/failure_policy.h"
#include "gilscope/walkers/free_threaded_gil.h"

namespace gilscope {

absl::Status TargetSession::Start() {
  pid_ = options_.pid;
  if (!options_.command.empty()) {
    absl::StatusOr<ChildProcess> started = ChildProcess::Start(options_.command);
    if (!started.ok()) return started.status();
    child_.emplace(*std::move(started));
    pid_ = child_->pid();
  }
  absl::Status status = [&]() -> absl::Status {
    memory_.emplace(pid_);
    absl::StatusOr<PythonTarget> target =
        child_ ? WaitForPython(*child_, *memory_) : LocatePython(pid_, *memory_);
    if (!target.ok()) return target.status();
    target_.emplace(*std::move(target));
    if (!target_->warning.empty()) PrintError(target_->warning);
    cpu_budget_ = ReadCpuBudget(pid_);

    // Every sample reads each listed thread, which is what the cheap listing needs.
    tasks_.emplace(pid_, ProcTaskReader::Listing::kWhenCountChanges);
    taker_.emplace(*target_, *memory_, *tasks_);
    if (options_.native) {
      // The holder and threads on a CPU: what every view's interesting frames need. Blocked
      // threads keep their Python stacks (their native frames are the wait itself).
      absl::Status enabled =
          taker_->EnableNativeStacks(NativeStacks::kOnCpu, options_.keep_plumbing);
      if (!enabled.ok()) {
        return absl::Status(enabled.code(),
                            absl::StrCat("cannot read native stacks: ", enabled.message()));
      }
    }
    return absl::OkStatus();
  }();
  if (!status.ok() && child_) KillLaunched(*child_);
  return status;
}

SamplingHooks TargetSession::Hooks() {
  exec_watch_.emplace(pid_);
  pauser_.emplace(pid_);
  SamplingHooks hooks;
  hooks.take = [this]() -> absl::StatusOr<Snapshot> {
    SnapshotCost cost;
    absl::StatusOr<Snapshot> snapshot = TakeSnapshot(
        *taker_, *pauser_, options_.nonblocking ? Pausing::kNone : Pausing::kThreadsThatRun, &cost,
        /*rehearse=*/options_.rate_hz <= kMaxRehearsedRateHz);
    paused_total_ += cost.paused;
    return snapshot;
  };
  hooks.classify = [this](const absl::Status& status) {
    // A launched program that ended is a zombie until reaped: that is an exit, not an error.
    // Nor is a program that exec'd into another: the Python target is gone, the pid stays.
    TargetChange change;
    change.exited = ChildExited();
    change.replaced = !change.exited && exec_watch_->Replaced();
    return Classify(status, change);
  };
  if (options_.native) {
    // The first native sample reads the unwind tables and symbols of every object on the
    // stacks: 0.04 s on an idle machine, over a second seen on a loaded one. Taken once here,
    // before the schedule starts, so it does not eat into the recording as skipped samples.
    (void)hooks.take();
    paused_total_ = absl::ZeroDuration();
  }
  return hooks;
}

void TargetSession::Finish(bool stopped_by_signal) {
  if (child_) FinishChild(*child_, stopped_by_signal);
}

void TargetSession::StopChild() {
  if (child_) StopLaunched(*child_);
}

void TargetSession::RefreshFreeThreadedGil(bool now) {
  if (!target_ || !target_->free_threaded) return;
  const absl::Time at = absl::Now();
  if (!now && at - free_threaded_gil_read_ < absl::Seconds(1)) return;
  free_threaded_gil_read_ = at;
  FreeThreadedGil read =
      ReadMainFreeThreadedGil(*memory_, *target_->layout, target_->interpreters_head);
  if (read.state != FreeThreadedGil::State::kUnknown) free_threaded_gil_ = std::move(read);
}

}  // namespace gilscope
