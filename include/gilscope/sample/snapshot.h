// What one sample of a target holds: every thread, its stack and its GIL state, each GIL and
// each interpreter. Plain data: made by the sampler, read by aggregation and rendering.
#ifndef GILSCOPE_SAMPLE_SNAPSHOT_H_
#define GILSCOPE_SAMPLE_SNAPSHOT_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gilscope/sample/frame.h"
#include "gilscope/sample/thread_state.h"

namespace gilscope {

struct ThreadSnapshot {
  pid_t native_id = 0;          // OS thread id; 0 when unknown
  uint64_t thread_id = 0;       // Python's thread ident (pthread_t); 0 for non-Python threads
  int64_t interpreter_id = -1;  // -1 for threads with no Python thread state
  int gil_index = -1;           // into Snapshot::gils: the GIL its interpreter uses; -1 for none
  // 3.12+: the thread state is its OS thread's current one (PyThreadState._status.active, set
  // while attached: holding its GIL, or running in a free-threaded build); unknown before 3.12.
  std::optional<bool> active;
  bool is_python = false;
  bool is_main = false;  // the process's main thread
  std::string name;      // Python's threading.Thread.name; empty when unknown
  std::string os_name;   // /proc comm
  ThreadState state = ThreadState::kUnknown;
  std::string blocked_in;
  std::vector<Frame> frames;    // innermost first; with native stacks, merged
  std::string native_function;  // a holder in native code: the innermost native function
  std::string error;            // why frames could not be read, if so
};

struct GilSnapshot {
  int64_t interpreter_id = 0;  // its first user: the lowest id of the interpreters using it
  bool enabled = true;         // false: a free-threaded build running without it
  bool locked = false;
  pid_t holder_native_id = 0;  // as the GIL names it; 0 when free or the OS id is unknown
  std::optional<uint64_t> switch_number;
  // Set by FillGilRoles from the threads' states.
  int waiters = 0;         // threads waiting for this GIL
  int holder_thread = -1;  // into Snapshot::threads: the thread holding it; -1 when none
};

// One interpreter (3.12+ may have several: subinterpreters).
struct InterpreterSnapshot {
  int64_t id = 0;
  int gil_index = -1;  // into Snapshot::gils; a legacy subinterpreter shares the main one's
  // It is its GIL's first user: the main interpreter, or an isolated subinterpreter. Checks
  // the index itself: it takes bare `gils`, not a Snapshot known to be settled.
  bool OwnsGil(const std::vector<GilSnapshot>& gils) const {
    return gil_index >= 0 && static_cast<size_t>(gil_index) < gils.size() &&
           gils[static_cast<size_t>(gil_index)].interpreter_id == id;
  }
};

struct Snapshot {
  std::vector<ThreadSnapshot> threads;            // Python threads main first, then others by OS id
  std::vector<GilSnapshot> gils;                  // by interpreter id
  std::vector<InterpreterSnapshot> interpreters;  // by id; empty when none could be read
  int errors = 0;                                 // threads whose stacks could not be read
};

// Settles who holds and who waits for each GIL, once, where the sample is made, so readers
// neither derive it again nor check indices. Afterwards every gil_index (threads' and
// interpreters') is -1 or an index into `gils`: one out of range becomes -1, as does a
// non-Python thread's (it uses no GIL). Each GIL's holder_thread is the first of `threads`
// using it whose state holds a GIL (-1: none), and `waiters` counts those of its threads
// waiting for it. A disabled GIL (free-threaded build) gets roles from thread states like any
// other; its threads run without it, so it has none.
void FillGilRoles(Snapshot& snapshot);

// Whether `snapshot` keeps every promise FillGilRoles makes.
bool IsConsistent(const Snapshot& snapshot);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLE_SNAPSHOT_H_
