// Taking one consistent look at a target (the data is sample/snapshot.h): every thread, its
// Python stack and its GIL state. The caller decides whether the target is paused around Take().
#ifndef GILSCOPE_SAMPLER_SNAPSHOT_H_
#define GILSCOPE_SAMPLER_SNAPSHOT_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/page_cache.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/native/native_unwinder.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/sample/snapshot.h"
#include "gilscope/sampler/thread_state.h"
#include "gilscope/walkers/code_reader.h"
#include "gilscope/walkers/frame_walker.h"
#include "gilscope/walkers/thread_names.h"
#include "gilscope/walkers/thread_walker.h"

namespace gilscope {

// A thread being read: its Python stack's detail is kept until the native stack is merged.
struct StackRead {
  ThreadSnapshot thread;
  FrameWalkDetail detail;
  bool python_ok = true;         // false: the Python stack could not be read
  bool runnable = false;         // not in a system call
  bool gil_enabled = true;       // false: a free-threaded build running without its GIL
  bool in_counted_wait = false;  // blocked in a wait that GilState::counted_waiters counts
  // Runnable without the GIL and filed as running native code only because nothing said
  // otherwise (PlaceByCountedWaits decides), and where its innermost frame is.
  bool unplaced = false;
  UnplacedAt unplaced_at = UnplacedAt::kCall;
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

  // The ELF objects read to name native frames so far (none without native stacks).
  std::vector<ObjectIdentity> NativeObjectsRead() const {
    return unwinder_ ? unwinder_->ObjectsRead() : std::vector<ObjectIdentity>{};
  }

  // The threads a pause must stop for the next Take() to be consistent: those not blocked in
  // a system call (on a CPU or ready for one), and of those only the ones that had a Python
  // thread state at the last sample (all of them at the first), unless native stacks are
  // read (unwinding needs the thread stopped); on 2.7, every thread (its semaphore GIL, see
  // snapshot.cc). A thread blocked in a system call changes nothing a sample reads until it
  // returns; one that wakes while the others are stopped finds the GIL's holder stopped, so
  // it can at most queue for it, and is read as it is.
  absl::StatusOr<std::vector<pid_t>> ThreadsToStop();

  // The GIL hand-offs so far, summed over every GIL (CPython's switch counters), read without
  // /proc and without pausing: cheap enough to watch a target without disturbing it. Unset
  // when this version keeps no counter.
  absl::StatusOr<std::optional<uint64_t>> CountHandOffs();

 private:
  // The Python stacks of threads that were blocked in a system call, by OS thread and thread
  // state; kept while they stay blocked, dropped at the first sample that does not use them.
  struct KeptStack {
    uint64_t observation = 0;  // TaskActivity::observation when it was read
    RemoteAddress top_frame = 0;
    RemoteAddress cframe = 0;  // ThreadRecord::cframe (3.11, 3.12)
    std::vector<Frame> frames;
    FrameWalkDetail detail;
    uint64_t used_in = 0;  // the last sample that read or reused it
  };
  // The target's threads; NotFound once it has exited.
  absl::StatusOr<std::vector<pid_t>> ListThreads();
  bool WantsNativeStack(const ThreadSnapshot& thread) const;
  // Which GIL an interpreter uses: its own (3.12+, the struct's address; legacy
  // subinterpreters share the main one's), or 0 for the process's one GIL. And where that is.
  RemoteAddress GilKey(const InterpreterRecord& interp) const;
  GilLocation GilLocationOf(RemoteAddress key) const;
  // Walks the Python stack of `record` into `read`, or takes the one kept from the last
  // sample when its thread has not run since (`task` says so) and the stack's top is the same.
  void ReadPythonStack(const ThreadRecord& record, const TaskActivity* task, StackRead& read);
  // The kept stack of a thread that has not run since it was read, if any.
  KeptStack* StackStillValid(const ThreadRecord& record, const TaskActivity* task);
  // Merges the thread's native stack into its Python one when wanted, and refines its state
  // from them. Sets the thread's error when a stack could not be read, or only in part.
  void FinishStacks(StackRead& read);
  // Places each GIL's unplaced runnable threads by glibc's count of its waiters.
  static void PlaceUnplaced(std::vector<StackRead>& reads,
                            const std::vector<const GilState*>& gil_by_index);

  const PythonTarget& target_;
  PageCache memory_;  // over the caller's memory; cleared at the start of each Take()
  TaskReader& tasks_;
  CodeReader codes_;
  ThreadNameReader names_;
  NativeStacks native_stacks_ = NativeStacks::kNone;
  bool keep_plumbing_ = false;
  std::unique_ptr<NativeUnwinder> unwinder_;

  absl::flat_hash_map<std::pair<pid_t, RemoteAddress>, KeptStack> kept_stacks_;
  uint64_t sample_ = 0;
  absl::flat_hash_set<pid_t> python_threads_;  // OS ids with a Python thread state, last sample
};

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_SNAPSHOT_H_
