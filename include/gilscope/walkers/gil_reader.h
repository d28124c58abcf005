// Reads a GIL's state: whether it is taken, by which thread state, how often it changed hands,
// and the addresses a thread blocks on while it waits to take it.
#ifndef GILSCOPE_WALKERS_GIL_READER_H_
#define GILSCOPE_WALKERS_GIL_READER_H_

#include <sys/types.h>

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

struct AddressRange {
  RemoteAddress start = 0;
  RemoteAddress end = 0;  // exclusive
  bool Contains(RemoteAddress address) const { return address >= start && address < end; }
};

// Where a version keeps its GIL. Which members are used depends on layout.gil_model.
struct GilLocation {
  RemoteAddress gil_struct = 0;        // kInRuntime, kPerInterpreter: struct _gil_runtime_state
  RemoteAddress tstate_current = 0;    // 2.7, 3.6: &_PyThreadState_Current
  RemoteAddress interpreter_lock = 0;  // 2.7: &interpreter_lock (a pointer to a sem_t)
  // 3.6: the separate statics of Python/ceval_gil.h.
  RemoteAddress locked = 0, last_holder = 0, switch_number = 0;
  RemoteAddress cond = 0, mutex = 0, switch_cond = 0, switch_mutex = 0;
};

struct GilState {
  // False when a free-threaded build runs without its GIL: nobody holds it or waits for it.
  bool enabled = true;
  bool locked = false;
  RemoteAddress holder = 0;               // thread state holding it, 0 when free
  std::optional<uint64_t> switch_number;  // CPython's count of hand-offs, where kept
  // Futex addresses of the GIL's condition variables and mutexes (glibc keeps its futex words
  // inside them): a thread blocked in futex on one of these is waiting for this GIL.
  std::vector<AddressRange> wait_ranges;
  // The thread inside the GIL's mutex (glibc's __owner): a woken waiter about to take the GIL.
  pid_t mutex_owner = 0;
  // glibc's own count of the threads inside the GIL's counted waits: pthread_cond_wait on its
  // condition variables (__wrefs, from entry until woken), or sem_wait on 2.7's semaphore
  // (nwaiters, until it takes it). It counts woken waiters that are runnable but have not run,
  // which /proc cannot tell from threads running native code. Unset where not read.
  std::optional<int> counted_waiters;
  std::vector<AddressRange> counted_wait_ranges;  // a futex there is one of those waits

  bool IsWaitAddress(RemoteAddress futex) const { return InAny(wait_ranges, futex); }
  bool IsCountedWaitAddress(RemoteAddress futex) const { return InAny(counted_wait_ranges, futex); }

 private:
  static bool InAny(const std::vector<AddressRange>& ranges, RemoteAddress address) {
    for (const AddressRange& range : ranges) {
      if (range.Contains(address)) return true;
    }
    return false;
  }
};

absl::StatusOr<GilState> ReadGil(RemoteMemory& memory, const PythonLayout& layout,
                                 const GilLocation& location);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_GIL_READER_H_
