// One consistent look at a target: every thread, its Python stack and its GIL state.
// The caller decides whether the target is paused around Take().
#ifndef GILSCOPE_SAMPLER_SNAPSHOT_H_
#define GILSCOPE_SAMPLER_SNAPSHOT_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/page_cache.h"
#include "gilscope/memory/remote_memory.h"
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
  bool is_python = false;
  bool is_main = false;         // the process's main thread
  std::string name;             // Python's threading.Thread.name; empty when unknown
  std::string os_name;          // /proc comm
  ThreadState state = ThreadState::kUnknown;
  std::string blocked_in;
  std::vector<PythonFrame> frames;  // innermost first
  std::string error;                // why frames could not be read, if so
};

struct GilSnapshot {
  int64_t interpreter_id = 0;    // the (first) interpreter using this GIL
  bool locked = false;
  pid_t holder_native_id = 0;    // 0 when free or the holder's OS id is unknown
  std::optional<uint64_t> switch_number;
  int waiters = 0;
};

struct Snapshot {
  std::vector<ThreadSnapshot> threads;  // Python threads main first, then others by OS id
  std::vector<GilSnapshot> gils;
  int errors = 0;  // threads whose stacks could not be read
};

class SnapshotTaker {
 public:
  // Keeps references: `target`, `memory` and `tasks` must outlive the taker. One taker is
  // meant to take every sample of a recording: it keeps what stays valid from sample to sample
  // (decoded code objects, thread names), each entry checked against the target again before
  // use, and reads each sample's memory through a page cache that every Take() starts afresh.
  SnapshotTaker(const PythonTarget& target, RemoteMemory& memory, TaskReader& tasks);
  SnapshotTaker(PythonTarget&& target, RemoteMemory& memory, TaskReader& tasks) = delete;

  absl::StatusOr<Snapshot> Take();

 private:
  const PythonTarget& target_;
  PageCache memory_;  // over the caller's memory; cleared at the start of each Take()
  TaskReader& tasks_;
  CodeReader codes_;
  ThreadNameReader names_;
};

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_SNAPSHOT_H_
