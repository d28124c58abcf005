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

// Takes one snapshot with `taker`, the target stopped by `pauser` around it when `pause`.
// Signals that would end gilscope (INT, TERM, HUP, QUIT) are held while the target is stopped,
// so the pause always ends with an explicit detach; they are delivered right after.
// Errors: those of ProcessPauser::Pause and SnapshotTaker::Take.
absl::StatusOr<Snapshot> TakeSnapshot(SnapshotTaker& taker, ProcessPauser& pauser, bool pause,
                                      SnapshotCost* cost = nullptr);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_PAUSED_SNAPSHOT_H_
