// Lists every interpreter and every thread state in a target, with where each thread's
// Python stack starts.
#ifndef GILSCOPE_WALKERS_THREAD_WALKER_H_
#define GILSCOPE_WALKERS_THREAD_WALKER_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

// Bounds on lists read from the target; longer ones are taken as corrupt.
inline constexpr int kMaxInterpreters = 256;
inline constexpr int kMaxThreadsPerInterpreter = 16384;

struct ThreadRecord {
  RemoteAddress thread_state = 0;
  uint64_t thread_id = 0;  // pthread_t, Python's threading.get_ident()
  pid_t native_id = 0;     // the OS thread id; 0 when it could not be determined
  RemoteAddress top_frame = 0;
  // 3.11, 3.12: tstate->cframe, the C-stack struct top_frame is read from. When the caller of
  // WalkInterpreters said the stack was not wanted, top_frame is left unread (a page of the
  // thread's C stack saved): top_frame_read is false, and TopFrameOf reads it later.
  RemoteAddress cframe = 0;
  bool top_frame_read = true;
  // 3.12+: the thread state is its OS thread's current one. A thread running code in a
  // subinterpreter has a thread state in each interpreter; only the one in use is active.
  std::optional<bool> active;
};

struct InterpreterRecord {
  RemoteAddress address = 0;
  int64_t id = 0;
  RemoteAddress gil = 0;              // 3.12+: the GIL this interpreter uses
  std::vector<ThreadRecord> threads;  // newest first, as CPython keeps them
};

// Follows the interpreter list from `interpreters_head` (the address of the pointer to the
// first interpreter) and every interpreter's thread list. `live_tids` are the target's OS
// threads, used to find thread ids on versions that only record a pthread_t.
// `skip_top_frame`, when given, is asked about each thread (its id, thread state and cframe
// known) on versions that keep the top frame behind tstate->cframe: true leaves it unread.
absl::StatusOr<std::vector<InterpreterRecord>> WalkInterpreters(
    RemoteMemory& memory, const PythonLayout& layout, RemoteAddress interpreters_head,
    const absl::flat_hash_set<pid_t>& live_tids,
    const std::function<bool(const ThreadRecord&)>& skip_top_frame = nullptr);

// The thread's top frame, read now when WalkInterpreters left it unread.
absl::StatusOr<RemoteAddress> TopFrameOf(RemoteMemory& memory, const PythonLayout& layout,
                                         const ThreadRecord& thread);

// Finds the OS thread id inside glibc's struct pthread (its `tid` member; 0x2d0 on glibc 2.36
// x86_64). Checks the candidate against the live threads and searches nearby offsets when
// another glibc moved it. `known_offset` remembers what was found across calls.
pid_t TidFromPthread(RemoteMemory& memory, uint64_t pthread,
                     const absl::flat_hash_set<pid_t>& live_tids, int* known_offset);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_THREAD_WALKER_H_
