#include "gilscope/sampler/stack_merge.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace gilscope {
namespace {

absl::string_view BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// libc's side of blocking on a mutex or condition variable: where a thread taking the GIL
// sleeps (pthread_cond_timedwait, __futex_abstimed_wait_common, __lll_lock_wait, sem_wait).
bool IsLockWait(const NativeFrame& frame) {
  const absl::string_view name = frame.function;
  return absl::StrContains(name, "pthread_cond") || absl::StrContains(name, "pthread_mutex") ||
         absl::StrContains(name, "futex") || absl::StrContains(name, "lll_lock") ||
         absl::StartsWith(name, "sem_") || absl::StartsWith(name, "__new_sem_");
}

// glibc and the dynamic linker: helpers every object calls (memcpy, __tls_get_addr), so they
// say nothing about whose code runs. Debian's stripped libc.so.6 names none of its internal
// functions (__futex_abstimed_wait_common): unnamed, they pass as part of a lock wait.
bool IsLibc(const NativeFrame& frame) {
  const absl::string_view base = BaseName(frame.object);
  return absl::StartsWith(base, "libc.so") || absl::StartsWith(base, "libc-") ||
         absl::StartsWith(base, "libpthread") || absl::StartsWith(base, "ld-linux");
}

// Frames inner to the innermost eval frame, from native[0] up to (not including) `end`.
NativeLeaf ReadLeaf(const NativeStack& native, size_t end, bool ends_at_eval) {
  NativeLeaf leaf;
  leaf.frames = static_cast<int>(end);
  if (end > 0) leaf.function = NativeToFrame(native.frames[0]).function.str();
  bool any_lock_wait = false;
  bool only_interpreter_and_lock_waits = true;
  bool names_interpreter_frames = false;
  for (size_t i = 0; i < end; ++i) {
    const NativeFrame& frame = native.frames[i];
    if (!frame.in_interpreter && !IsLibc(frame)) leaf.outside_interpreter = true;
    if (frame.in_interpreter && IsGilAcquireFunction(frame.function)) leaf.taking_gil = true;
    if (frame.in_interpreter && !frame.function.empty()) names_interpreter_frames = true;
    if (IsLockWait(frame)) {
      any_lock_wait = true;
    } else if (!frame.in_interpreter && !(frame.function.empty() && IsLibc(frame))) {
      only_interpreter_and_lock_waits = false;
    }
  }
  // Stripped interpreters do not name take_gil (a static function): a lock wait reached from
  // the eval loop through unnamed interpreter code alone is the loop handing the GIL over and
  // taking it back. Where interpreter frames have names, take_gil would be among them: a
  // named path (lock_PyThread_acquire_lock, PyThread_acquire_lock_timed) is another lock.
  if (ends_at_eval && any_lock_wait && only_interpreter_and_lock_waits &&
      !names_interpreter_frames) {
    leaf.taking_gil = true;
  }
  return leaf;
}

}  // namespace

Frame NativeToFrame(const NativeFrame& frame) {
  Frame out;
  out.kind = FrameKind::kNative;
  out.line = -1;
  if (frame.object.empty()) {
    out.file = "[anonymous]";
    out.function = frame.function.empty() ? absl::StrFormat("0x%x", frame.ip) : frame.function;
    return out;
  }
  out.file = std::string(BaseName(frame.object));
  out.function = frame.function.empty()
                     ? absl::StrFormat("%s+0x%x", out.file.str(), frame.object_offset)
                     : frame.function;
  return out;
}

MergedStack MergeStacks(const std::vector<Frame>& python, const FrameWalkDetail& detail,
                        const NativeStack& native, const PythonLayout& layout, bool keep_plumbing) {
  MergedStack merged;
  merged.frames.reserve(python.size() + native.frames.size());
  size_t next_python = 0;  // the first Python frame not merged yet
  // Appends the next group: Python frames up to and including one that starts an eval call.
  auto append_group = [&] {
    while (next_python < python.size()) {
      merged.frames.push_back(python[next_python]);
      const bool starts = next_python < detail.starts_eval_call.size()
                              ? detail.starts_eval_call[next_python]
                              : true;  // no detail: one frame per eval call, as <= 3.10
      ++next_python;
      if (starts) break;
    }
  };

  size_t first_eval = native.frames.size();
  for (size_t i = 0; i < native.frames.size(); ++i) {
    const NativeFrame& frame = native.frames[i];
    if (frame.in_interpreter && IsEvalFunction(layout, frame.function)) {
      if (first_eval == native.frames.size()) first_eval = i;
      if (next_python < python.size()) {
        append_group();
        continue;
      }
      merged.mismatched = true;  // an eval frame with no Python frames left: keep it as native
    } else if (!keep_plumbing && frame.in_interpreter && IsCallPlumbing(frame.function)) {
      continue;
    }
    merged.frames.push_back(NativeToFrame(frame));
  }
  if (next_python < python.size()) {
    // Unmatched Python frames: with no native stack at all this is simply the Python stack.
    if (!native.frames.empty()) merged.mismatched = true;
    merged.frames.insert(merged.frames.end(), python.begin() + static_cast<long>(next_python),
                         python.end());
  }
  merged.leaf = ReadLeaf(native, first_eval, first_eval < native.frames.size());
  return merged;
}

}  // namespace gilscope
