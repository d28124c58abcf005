#include "gilscope/walkers/gil_reader.h"

#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

// glibc x86_64 sizes (sysdeps/x86/nptl/bits/pthreadtypes-arch.h) and the offset of
// pthread_mutex_t.__data.__owner, the TID of the thread holding the mutex.
constexpr uint64_t kCondSize = 48;
constexpr uint64_t kMutexSize = 40;
constexpr uint64_t kMutexOwnerOffset = 8;
constexpr uint64_t kSemaphoreSize = 32;
// pthread_cond_t.__data.__wrefs (glibc 2.25+): 8 per thread inside pthread_cond_wait, from
// registering until it confirms its wake-up (before it retakes the mutex); flags in bits 0-2.
constexpr uint64_t kCondWaiterRefsOffset = 36;
constexpr int kCondWaiterRefShift = 3;
// sem_t's 64-bit word (glibc 2.21+, 64-bit atomics): the value in the low half, the number of
// threads inside sem_wait's slow path (blocked, or woken and retrying) in the high half.
constexpr int kSemaphoreWaitersShift = 32;
// More waiters than this means the words are not what we think (another glibc): ignore them.
constexpr uint32_t kMostPlausibleWaiters = 1 << 20;

std::optional<int> Plausible(uint64_t waiters) {
  if (waiters > kMostPlausibleWaiters) return std::nullopt;
  return static_cast<int>(waiters);
}

// Threads inside the GIL's two condition variables (gil->cond: waiting to take it;
// switch_cond: a dropper waiting for the next holder to take it).
std::optional<int> CondWaiters(uint32_t cond_refs, uint32_t switch_cond_refs) {
  return Plausible((cond_refs >> kCondWaiterRefShift) +
                   static_cast<uint64_t>(switch_cond_refs >> kCondWaiterRefShift));
}

absl::StatusOr<GilState> ReadGilStruct(RemoteMemory& memory, const PythonLayout& layout,
                                       RemoteAddress gil) {
  if (gil < kLowestValidAddress) return absl::DataLossError("no GIL structure");
  const PythonLayout::Gil& g = layout.gil;
  uint8_t bytes[512];
  if (g.size <= 0 || static_cast<size_t>(g.size) > sizeof bytes) {
    return absl::InternalError("GIL layout missing");
  }
  RETURN_IF_ERROR(memory.Read(gil, bytes, static_cast<size_t>(g.size)));  // one read: consistent
  GilState state;
  // Free-threaded builds: a count of reasons to keep the GIL on (PYTHON_GIL=1, an extension
  // not marked safe); 0 means off, and nobody holds or waits for it.
  if (g.enabled.present() && LoadAt<int32_t>(bytes, g.enabled.offset) == 0) {
    state.enabled = false;
    return state;
  }
  state.locked = LoadAt<int32_t>(bytes, g.locked.offset) == 1;
  // last_holder is never cleared on release (3.12+), so it only names a holder while locked.
  if (state.locked) state.holder = LoadAt<uint64_t>(bytes, g.last_holder.offset);
  state.switch_number = LoadAt<uint64_t>(bytes, g.switch_number.offset);
  state.mutex_owner = LoadAt<int32_t>(bytes, g.mutex.offset + kMutexOwnerOffset);
  state.wait_ranges = {{gil + g.cond.offset, gil + g.cond.offset + kCondSize},
                       {gil + g.mutex.offset, gil + g.mutex.offset + kMutexSize},
                       {gil + g.switch_cond.offset, gil + g.switch_cond.offset + kCondSize},
                       {gil + g.switch_mutex.offset, gil + g.switch_mutex.offset + kMutexSize}};
  state.counted_waiters =
      CondWaiters(LoadAt<uint32_t>(bytes, g.cond.offset + kCondWaiterRefsOffset),
                  LoadAt<uint32_t>(bytes, g.switch_cond.offset + kCondWaiterRefsOffset));
  state.counted_wait_ranges = {state.wait_ranges[0], state.wait_ranges[2]};
  return state;
}

absl::StatusOr<GilState> ReadGilStatics36(RemoteMemory& memory, const GilLocation& at) {
  GilState state;
  ASSIGN_OR_RETURN(int32_t locked, ReadValue<int32_t>(memory, at.locked));
  if (locked < 0) {
    // 3.6 creates its GIL with the second thread (gil_created(): locked >= 0). Until then the
    // one thread runs bytecode unopposed, as the current thread state: it is the holder, as
    // 2.7's current thread state is (releasing "the GIL" still clears the current state).
    ASSIGN_OR_RETURN(state.holder, ReadValue<uint64_t>(memory, at.tstate_current));
    state.locked = state.holder != 0;
    return state;
  }
  state.locked = locked == 1;
  if (state.locked) {
    ASSIGN_OR_RETURN(state.holder, ReadValue<uint64_t>(memory, at.last_holder));
  }
  if (at.switch_number != 0) {
    ASSIGN_OR_RETURN(state.switch_number, ReadValue<uint64_t>(memory, at.switch_number));
  }
  ASSIGN_OR_RETURN(state.mutex_owner, ReadValue<int32_t>(memory, at.mutex + kMutexOwnerOffset));
  state.wait_ranges = {{at.cond, at.cond + kCondSize},
                       {at.mutex, at.mutex + kMutexSize},
                       {at.switch_cond, at.switch_cond + kCondSize},
                       {at.switch_mutex, at.switch_mutex + kMutexSize}};
  ASSIGN_OR_RETURN(uint32_t cond_refs,
                   ReadValue<uint32_t>(memory, at.cond + kCondWaiterRefsOffset));
  ASSIGN_OR_RETURN(uint32_t switch_refs,
                   ReadValue<uint32_t>(memory, at.switch_cond + kCondWaiterRefsOffset));
  state.counted_waiters = CondWaiters(cond_refs, switch_refs);
  state.counted_wait_ranges = {state.wait_ranges[0], state.wait_ranges[2]};
  return state;
}

absl::StatusOr<GilState> ReadSemaphore27(RemoteMemory& memory, const GilLocation& at) {
  GilState state;
  ASSIGN_OR_RETURN(RemoteAddress holder, ReadValue<uint64_t>(memory, at.tstate_current));
  state.holder = holder;
  state.locked = holder != 0;
  ASSIGN_OR_RETURN(RemoteAddress semaphore, ReadValue<uint64_t>(memory, at.interpreter_lock));
  // Threads not started yet: 2.7 creates the lock with the first thread.
  if (semaphore != 0) {
    state.wait_ranges = {{semaphore, semaphore + kSemaphoreSize}};
    ASSIGN_OR_RETURN(uint64_t word, ReadValue<uint64_t>(memory, semaphore));
    state.counted_waiters = Plausible(word >> kSemaphoreWaitersShift);
    state.counted_wait_ranges = state.wait_ranges;
  }
  return state;
}

}  // namespace

absl::StatusOr<GilState> ReadGil(RemoteMemory& memory, const PythonLayout& layout,
                                 const GilLocation& location) {
  switch (layout.gil_model) {
    case GilModel::kSemaphore27:
      return ReadSemaphore27(memory, location);
    case GilModel::kStatics36:
      return ReadGilStatics36(memory, location);
    case GilModel::kInRuntime:
    case GilModel::kPerInterpreter:
      return ReadGilStruct(memory, layout, location.gil_struct);
  }
  return absl::InternalError("unknown GIL model");
}

}  // namespace gilscope
