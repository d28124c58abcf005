// One consistent look at a target: every thread, its Python stack and its GIL state.
// The caller decides whether the target is paused around Take().
#ifndef GILSCOPE_SAMPLER_SNAPSHOT_H_
#define GILSCOPE_SAMPLER_SNAPSHOT_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/page_cache.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/native/native_unwinder.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/sampler/thread_state.h"
#include "gilscope/walkers/code_reader.h"
#include "gilscope/walkers/frame_walker.h"
#include "gilscope/walkers/thread_names.h"

namespace gilscope {

struct ThreadSnapshot {
  pid_t native_id = 0;          // OS thread id; 0 when unknown
  uint64_t thread_id = 0;       // Python's thread ident (pthread_t); 0 for non-Python threads
  int64_t interpreter_id = -1;  // -1 for threads with no Python thread state
  int gil_index = -1;           // into Snapshot::gils: the GIL its interpreter uses
  // 3.12+: the thread state is its OS thread's current one (PyThreadState._status.active, set
  // while attached: holding its GIL, or running in a free-threaded build); unknown before 3.12.
  std::optional<bool> active;
  bool is_python = false;
  bool is_main = false;  // the process's main thread
  std::string name;      // Python's threading.Thread.name; empty when unknown
  std::string os_name;   // /proc comm
  ThreadState state = ThreadState::kUnknown;
  std::string blocked_in;
  std::vector<PythonFrame> frames;  // innermost first; with native stacks, merged
  std::string native_function;      // a holder in native code: the innermost native function
  std::string error;                // why frames could not be read, if so
};

struct GilSnapshot {
  int64_t interpreter_id = 0;  // its first user: the lowest id of the interpreters using it
  bool enabled = true;         // false: a free-threaded build running without it
  bool locked = false;
  pid_t holder_native_id = 0;  // 0 when free or the holder's OS id is unknown
  std::optional<uint64_t> switch_number;
  int waiters = 0;  // threads waiting for this GIL
};

// One interpreter (3.12+ may have several: subinterpreters).
struct InterpreterSnapshot {
  int64_t id = 0;
  int gil_index = -1;  // into Snapshot::gils; a legacy subinterpreter shares the main one's
  // It is its GIL's first user: the main interpreter, or an isolated subinterpreter.
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

// A thread being read: its Python stack's detail is kept until the native stack is merged.
struct StackRead {
  ThreadSnapshot thread;
  FrameWalkDetail detail;
  bool python_ok = true;  // false: the Python stack could not be read
};

// Which threads get their native stack unwound and merged with their Python stack.
enum class NativeStacks {
  kNone,
  kOnCpu,  // the GIL holder and runnable threads: what gil/blame/cpu views and states need
  kAll,    // every thread, blocked ones too
};

class SnapshotTaker {
 public:
  // Keeps references: `target`, `memory` and `tasks` must outlive the taker. One taker is
  // meant to take every sample of a recording: it keeps what stays valid from sample to sample
  // (decoded code objects, thread names), each entry checked against the target again before
  // use, and reads each sample's memory through a page cache that every Take() starts afresh.
  SnapshotTaker(const PythonTarget& target, RemoteMemory& memory, TaskReader& tasks);
  SnapshotTaker(PythonTarget&& target, RemoteMemory& memory, TaskReader& tasks) = delete;

  // Unwinds native stacks from now on; needs the target paused around every Take() (ptrace
  // reads the registers). `keep_plumbing` keeps CPython's call-dispatch frames. The unwinder
  // comes from `make_unwinder`, or NativeUnwinder::Create when it is empty.
  absl::Status EnableNativeStacks(NativeStacks which, bool keep_plumbing,
                                  NativeUnwinderFactory make_unwinder = nullptr);

  absl::StatusOr<Snapshot> Take();

 private:
  bool WantsNativeStack(const ThreadSnapshot& thread) const;
  // Walks the Python stack starting at `top_frame` into `read`.
  void ReadPythonStack(RemoteAddress top_frame, StackRead& read);
  // Merges the thread's native stack into its Python one when wanted, and refines its state
  // from them. Sets the thread's error when a stack could not be read, or only in part.
  void FinishStacks(StackRead& read);

  const PythonTarget& target_;
  PageCache memory_;  // over the caller's memory; cleared at the start of each Take()
  TaskReader& tasks_;
  CodeReader codes_;
  ThreadNameReader names_;
  NativeStacks native_stacks_ = NativeStacks::kNone;
  bool keep_plumbing_ = false;
  std::unique_ptr<NativeUnwinder> unwinder_;
};

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_SNAPSHOT_H_
