#include "gilscope/sampler/paused_snapshot.h"

#include <signal.h>

#include <memory>
#include <vector>

#include "gilscope/sampler/sampling_loop.h"

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

}  // namespace

absl::StatusOr<Snapshot> TakeSnapshot(SnapshotTaker& taker, ProcessPauser& pauser, Pausing pausing,
                                      SnapshotCost* cost, bool rehearse) {
  if (cost != nullptr) cost->paused = absl::ZeroDuration();
  if (pausing == Pausing::kNone) return taker.Take();
  if (rehearse) taker.Take().IgnoreError();  // what matters is the sample after it
  std::vector<pid_t> stop;
  if (pausing == Pausing::kThreadsThatRun) {  // chosen last, as close to the pause as can be
    absl::StatusOr<std::vector<pid_t>> threads = taker.ThreadsToStop();
    if (!threads.ok()) return threads.status();
    stop = *std::move(threads);
    if (stop.empty()) return taker.Take();  // nothing runs: nothing to stop
  }
  BlockTerminatingSignals hold;
  MonotonicClock clock;
  const absl::Time started = clock.Now();
  absl::StatusOr<Snapshot> snapshot;
  {
    absl::StatusOr<std::unique_ptr<PausedProcess>> paused =
        pausing == Pausing::kWholeProcess ? pauser.Pause() : pauser.PauseThreads(stop);
    if (!paused.ok()) return paused.status();
    snapshot = taker.Take();
  }  // resumed here
  if (cost != nullptr) cost->paused = clock.Now() - started;
  return snapshot;
}

}  // namespace gilscope
