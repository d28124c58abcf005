#include "gilscope/sampler/paused_snapshot.h"

#include <signal.h>
#include <time.h>

#include <memory>

#include "gilscope/proc/process_pause.h"

namespace gilscope {
namespace {

class BlockTerminatingSignals {
 public:
  BlockTerminatingSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, signal);
    sigprocmask(SIG_BLOCK, &set, &previous_);
  }
  ~BlockTerminatingSignals() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  BlockTerminatingSignals(const BlockTerminatingSignals&) = delete;
  BlockTerminatingSignals& operator=(const BlockTerminatingSignals&) = delete;

 private:
  sigset_t previous_;
};

absl::Time MonotonicNow() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::TimeFromTimespec(now);
}

}  // namespace

absl::StatusOr<Snapshot> TakeSnapshot(SnapshotTaker& taker, pid_t pid, bool pause,
                                      SnapshotCost* cost) {
  if (!pause) {
    if (cost != nullptr) cost->paused = absl::ZeroDuration();
    return taker.Take();
  }
  BlockTerminatingSignals hold;
  const absl::Time started = MonotonicNow();
  absl::StatusOr<Snapshot> snapshot;
  {
    absl::StatusOr<std::unique_ptr<ProcessPause>> paused = ProcessPause::Pause(pid);
    if (!paused.ok()) return paused.status();
    snapshot = taker.Take();
  }  // resumed here
  if (cost != nullptr) cost->paused = MonotonicNow() - started;
  return snapshot;
}

}  // namespace gilscope
