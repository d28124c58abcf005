// One snapshot, with the target stopped around it unless the caller asked for non-blocking
// reads. Shared by dump (one snapshot) and record (one per sample).
#ifndef GILSCOPE_SAMPLER_PAUSED_SNAPSHOT_H_
#define GILSCOPE_SAMPLER_PAUSED_SNAPSHOT_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gilscope/proc/pauser.h"
#include "gilscope/sampler/snapshot.h"

namespace gilscope {

struct SnapshotCost {
  absl::Duration paused;  // how long the target was stopped (zero when not paused)
};

enum class Pausing {
  kNone,          // non-blocking: the target runs on while it is read
  kWholeProcess,  // every thread stopped (dump: one snapshot, with every native stack)
  // The threads SnapshotTaker::ThreadsToStop names (record): on a busy target, stopping a
  // thread that waits for a CPU takes until the scheduler runs it, and a blocked thread must
  // be woken to stop, so stopping those costs the others most of the pause.
  kThreadsThatRun,
};

// Takes one snapshot with `taker`, threads stopped by `pauser` around it as `pausing` says.
// Signals that would end gilscope (INT, TERM, HUP, QUIT) are held while the target is stopped,
// so the pause always ends with an explicit detach; they are delivered right after.
// `rehearse`: before a pause, take a snapshot without one and drop it. Between samples far
// apart the caches a sample runs on (the CPU's, the kernel's for the target's pages and /proc
// files) go cold, and a sample then takes about twice as long: rehearsing spends gilscope's
// time so that the target's pause runs warm (at 100 Hz on 3.12.1, 1 spinning and 9 blocked
// threads: 211-226 us stopped per sample without, 104-124 with).
// Errors: those of ProcessPauser and SnapshotTaker.
absl::StatusOr<Snapshot> TakeSnapshot(SnapshotTaker& taker, ProcessPauser& pauser, Pausing pausing,
                                      SnapshotCost* cost = nullptr, bool rehearse = false);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_PAUSED_SNAPSHOT_H_
