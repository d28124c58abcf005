#include "gilscope/sample/snapshot.h"

namespace gilscope {
namespace {

bool IsGilIndex(int index, const Snapshot& snapshot) {
  return index >= 0 && static_cast<size_t>(index) < snapshot.gils.size();
}

// What FillGilRoles settles, computed from the threads; indices already valid.
struct GilRoles {
  int holder_thread = -1;
  int waiters = 0;
};

std::vector<GilRoles> RolesOf(const Snapshot& snapshot) {
  std::vector<GilRoles> roles(snapshot.gils.size());
  for (size_t i = 0; i < snapshot.threads.size(); ++i) {
    const ThreadSnapshot& thread = snapshot.threads[i];
    if (thread.gil_index < 0) continue;
    GilRoles& gil = roles[static_cast<size_t>(thread.gil_index)];
    if (thread.state == ThreadState::kWaitingForGil) ++gil.waiters;
    // Two holders of one GIL is a torn read (an unpaused target): the first is kept.
    if (HoldsGil(thread.state) && gil.holder_thread < 0) gil.holder_thread = static_cast<int>(i);
  }
  return roles;
}

}  // namespace

void FillGilRoles(Snapshot& snapshot) {
  for (InterpreterSnapshot& interp : snapshot.interpreters) {
    if (!IsGilIndex(interp.gil_index, snapshot)) interp.gil_index = -1;
  }
  for (ThreadSnapshot& thread : snapshot.threads) {
    if (!thread.is_python || !IsGilIndex(thread.gil_index, snapshot)) thread.gil_index = -1;
  }
  const std::vector<GilRoles> roles = RolesOf(snapshot);
  for (size_t g = 0; g < snapshot.gils.size(); ++g) {
    snapshot.gils[g].holder_thread = roles[g].holder_thread;
    snapshot.gils[g].waiters = roles[g].waiters;
  }
}

bool IsConsistent(const Snapshot& snapshot) {
  for (const InterpreterSnapshot& interp : snapshot.interpreters) {
    if (interp.gil_index != -1 && !IsGilIndex(interp.gil_index, snapshot)) return false;
  }
  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (thread.gil_index == -1) continue;
    if (!thread.is_python || !IsGilIndex(thread.gil_index, snapshot)) return false;
  }
  const std::vector<GilRoles> roles = RolesOf(snapshot);
  for (size_t g = 0; g < snapshot.gils.size(); ++g) {
    if (snapshot.gils[g].holder_thread != roles[g].holder_thread ||
        snapshot.gils[g].waiters != roles[g].waiters) {
      return false;
    }
  }
  return true;
}

}  // namespace gilscope
