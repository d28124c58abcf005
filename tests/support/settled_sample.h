// Made-up samples for aggregate and render tests, settled as the sampler settles real ones.
#ifndef GILSCOPE_TESTS_SUPPORT_SETTLED_SAMPLE_H_
#define GILSCOPE_TESTS_SUPPORT_SETTLED_SAMPLE_H_

#include <utility>

#include "absl/time/time.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope {

// Python threads of a one-GIL sample that name no GIL use that one (the sampler always names
// it; tests leave it out for brevity); then FillGilRoles, as SnapshotTaker::Take does.
inline Snapshot Settled(Snapshot snapshot) {
  for (ThreadSnapshot& thread : snapshot.threads) {
    if (thread.is_python && thread.gil_index < 0 && snapshot.gils.size() == 1) thread.gil_index = 0;
  }
  FillGilRoles(snapshot);
  return snapshot;
}

// Profile::AddSample expects a settled sample.
inline void AddSettled(Profile& profile, Snapshot snapshot, absl::Time at) {
  profile.AddSample(Settled(std::move(snapshot)), at);
}

}  // namespace gilscope

#endif  // GILSCOPE_TESTS_SUPPORT_SETTLED_SAMPLE_H_
