#include "gilscope/walkers/thread_walker.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

constexpr int kGlibcTidOffset = 0x2d0;  // offsetof(struct pthread, tid), glibc 2.28-2.38 x86_64
constexpr int kTidSearchStart = 0x200;
constexpr int kTidSearchEnd = 0x400;

// 3.11, 3.12: cframe->current_frame.
absl::StatusOr<RemoteAddress> FrameBehindCframe(RemoteMemory& memory, const PythonLayout& layout,
                                                RemoteAddress cframe) {
  if (cframe == 0) return 0;
  if (cframe < kLowestValidAddress) return absl::DataLossError("invalid cframe pointer");
  return ReadValue<uint64_t>(memory, cframe + layout.thread.cframe_current_frame.offset);
}

size_t ThreadStateBytes(const PythonLayout& layout) {
  const auto& t = layout.thread;
  return BytesToCover({t.next, t.interp, t.frame, t.cframe, t.current_frame, t.thread_id,
                       t.native_thread_id, t.status});
}

}  // namespace

absl::StatusOr<RemoteAddress> TopFrameOf(RemoteMemory& memory, const PythonLayout& layout,
                                         const ThreadRecord& thread) {
  if (thread.top_frame_read) return thread.top_frame;
  return FrameBehindCframe(memory, layout, thread.cframe);
}

pid_t TidFromPthread(RemoteMemory& memory, uint64_t pthread,
                     const absl::flat_hash_set<pid_t>& live_tids, int* known_offset) {
  if (pthread < kLowestValidAddress) return 0;
  const int first_guess = *known_offset > 0 ? *known_offset : kGlibcTidOffset;
  absl::StatusOr<int32_t> tid = ReadValue<int32_t>(memory, pthread + first_guess);
  if (tid.ok() && live_tids.contains(*tid)) {
    *known_offset = first_guess;
    return *tid;
  }
  // Another glibc: search the struct for a live TID. struct pthread starts with tcbhead_t
  // whose `self` (+16) points back at it; check that first so we search a real struct pthread.
  absl::StatusOr<uint64_t> self = ReadValue<uint64_t>(memory, pthread + 16);
  if (!self.ok() || *self != pthread) return 0;
  uint8_t block[kTidSearchEnd - kTidSearchStart];
  if (!memory.Read(pthread + kTidSearchStart, block, sizeof block).ok()) return 0;
  for (int offset = 0; offset + 4 <= static_cast<int>(sizeof block); offset += 4) {
    const int32_t candidate = LoadAt<int32_t>(block, offset);
    if (candidate > 0 && live_tids.contains(candidate)) {
      *known_offset = kTidSearchStart + offset;
      return candidate;
    }
  }
  return 0;
}

absl::StatusOr<std::vector<InterpreterRecord>> WalkInterpreters(
    RemoteMemory& memory, const PythonLayout& layout, RemoteAddress interpreters_head,
    const absl::flat_hash_set<pid_t>& live_tids,
    const std::function<bool(const ThreadRecord&)>& skip_top_frame) {
  std::vector<InterpreterRecord> interpreters;
  ASSIGN_OR_RETURN(RemoteAddress interp, ReadValue<uint64_t>(memory, interpreters_head));
  const auto& il = layout.interpreter;
  const auto& tl = layout.thread;
  const size_t thread_bytes = ThreadStateBytes(layout);
  std::vector<uint8_t> thread_state(thread_bytes);
  int tid_offset = 0;
  absl::flat_hash_set<RemoteAddress> seen;  // a looping list is corrupt, not long

  while (interp != 0) {
    if (interpreters.size() >= kMaxInterpreters) {
      return absl::DataLossError("interpreter list longer than any real one (corrupt or looping)");
    }
    if (interp < kLowestValidAddress) return absl::DataLossError("invalid interpreter pointer");
    if (!seen.insert(interp).second) return absl::DataLossError("interpreter list loops");
    InterpreterRecord record;
    record.address = interp;
    record.id = static_cast<int64_t>(interpreters.size());
    if (il.id.present()) {
      ASSIGN_OR_RETURN(record.id, ReadValue<int64_t>(memory, interp + il.id.offset));
    }
    if (il.ceval_gil.present()) {
      ASSIGN_OR_RETURN(record.gil, ReadValue<uint64_t>(memory, interp + il.ceval_gil.offset));
    }
    ASSIGN_OR_RETURN(RemoteAddress thread,
                     ReadValue<uint64_t>(memory, interp + il.threads_head.offset));
    while (thread != 0) {
      if (record.threads.size() >= kMaxThreadsPerInterpreter) {
        return absl::DataLossError("thread list longer than any real one (corrupt or looping)");
      }
      if (thread < kLowestValidAddress) return absl::DataLossError("invalid thread state pointer");
      if (!seen.insert(thread).second) return absl::DataLossError("thread list loops");
      RETURN_IF_ERROR(memory.Read(thread, thread_state.data(), thread_bytes));
      if (LoadAt<uint64_t>(thread_state.data(), tl.interp.offset) != interp) {
        return absl::DataLossError(
            "thread state does not belong to its interpreter (list changed?)");
      }
      ThreadRecord entry;
      entry.thread_state = thread;
      entry.thread_id = LoadAt<uint64_t>(thread_state.data(), tl.thread_id.offset);
      if (tl.native_thread_id.present()) {
        entry.native_id =
            static_cast<pid_t>(LoadAt<uint64_t>(thread_state.data(), tl.native_thread_id.offset));
      } else {
        entry.native_id = TidFromPthread(memory, entry.thread_id, live_tids, &tid_offset);
      }
      if (tl.frame.present()) {
        entry.top_frame = LoadAt<uint64_t>(thread_state.data(), tl.frame.offset);
      } else if (tl.current_frame.present()) {
        entry.top_frame = LoadAt<uint64_t>(thread_state.data(), tl.current_frame.offset);
      } else {
        entry.cframe = LoadAt<uint64_t>(thread_state.data(), tl.cframe.offset);
        entry.top_frame_read = false;  // what skip_top_frame is shown
        if (skip_top_frame == nullptr || !skip_top_frame(entry)) {
          ASSIGN_OR_RETURN(entry.top_frame, FrameBehindCframe(memory, layout, entry.cframe));
          entry.top_frame_read = true;
        }
      }
      if (tl.status.present() && tl.status_active_bit >= 0) {
        const uint32_t status = LoadAt<uint32_t>(thread_state.data(), tl.status.offset);
        entry.active = ((status >> tl.status_active_bit) & 1) != 0;
      }
      record.threads.push_back(entry);
      thread = LoadAt<uint64_t>(thread_state.data(), tl.next.offset);
    }
    interpreters.push_back(std::move(record));
    ASSIGN_OR_RETURN(interp, ReadValue<uint64_t>(memory, interp + il.next.offset));
  }
  return interpreters;
}

}  // namespace gilscope
