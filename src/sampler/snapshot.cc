#include "gilscope/sampler/snapshot.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/walkers/thread_walker.h"

namespace gilscope {

namespace {

// A thread that runs code in another interpreter (interp.exec(), 3.12+) has a thread state in
// each: the one in use is active, the others wait, swapped out, for the call to return. Such a
// thread is shown once: as the state in use (its interpreter, GIL state and innermost frames),
// with the other states' frames below, since they are the callers.
void FoldSwappedOutThreadStates(std::vector<ThreadSnapshot>& threads) {
  absl::flat_hash_map<pid_t, std::vector<size_t>> by_tid;
  for (size_t i = 0; i < threads.size(); ++i) {
    if (threads[i].native_id != 0) by_tid[threads[i].native_id].push_back(i);
  }
  std::vector<bool> remove(threads.size(), false);
  for (const auto& [tid, indices] : by_tid) {
    if (indices.size() < 2) continue;
    std::vector<size_t> active;
    for (size_t i : indices) {
      if (!threads[i].swapped_out) active.push_back(i);
    }
    // The active bit alone does not settle it (a thread blocked without its GIL can leave
    // every state inactive, or a caller's state marked active): among the active states, or
    // all of them, the newest interpreter's is inside, created after the caller's.
    if (active.empty()) active = indices;
    const size_t inner = *std::max_element(active.begin(), active.end(), [&](size_t a, size_t b) {
      return threads[a].interpreter_id < threads[b].interpreter_id;
    });
    ThreadSnapshot& current = threads[inner];
    // The subinterpreter's threading module names a thread it did not start "Dummy-N".
    const bool placeholder_name = current.name.empty() || current.name.rfind("Dummy-", 0) == 0;
    for (size_t i : indices) {
      if (i == inner) continue;
      ThreadSnapshot& outer = threads[i];
      current.frames.insert(current.frames.end(), outer.frames.begin(), outer.frames.end());
      if (placeholder_name && !outer.name.empty()) current.name = outer.name;
      if (current.error.empty()) current.error = outer.error;
      remove[i] = true;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < threads.size(); ++i) {
    if (remove[i]) continue;
    if (kept != i) threads[kept] = std::move(threads[i]);
    ++kept;
  }
  threads.resize(kept);
}

}  // namespace

SnapshotTaker::SnapshotTaker(const PythonTarget& target, RemoteMemory& memory, TaskReader& tasks)
    : target_(target),
      memory_(memory),
      tasks_(tasks),
      codes_(memory_, *target.layout, target.code_type),
      names_(memory_, *target.layout) {}

absl::Status SnapshotTaker::EnableNativeStacks(NativeStacks which, bool keep_plumbing) {
  native_stacks_ = which;
  keep_plumbing_ = keep_plumbing;
  if (which == NativeStacks::kNone) {
    unwinder_.reset();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(unwinder_, NativeUnwinder::Create(target_.pid, memory_, target_.python_binary));
  return absl::OkStatus();
}

bool SnapshotTaker::WantsNativeStack(const ThreadSnapshot& thread) const {
  switch (native_stacks_) {
    case NativeStacks::kNone: return false;
    case NativeStacks::kAll: return true;
    case NativeStacks::kOnCpu:
      return HoldsGil(thread.state) || thread.state == ThreadState::kRunningWithoutGil;
  }
  return false;
}

bool SnapshotTaker::ReadStacks(RemoteAddress top_frame, ThreadSnapshot& thread) {
  FrameWalkDetail detail;
  std::vector<PythonFrame> python;
  bool ok = true;
  if (thread.is_python) {
    absl::StatusOr<std::vector<PythonFrame>> frames =
        WalkFrames(memory_, *target_.layout, codes_, top_frame, &detail);
    if (frames.ok()) {
      python = std::move(*frames);
    } else {
      thread.error = std::string(frames.status().message());
      ok = false;
    }
  }
  StackSignals signals;
  signals.has_python_frames = !python.empty();
  signals.innermost_calls_native =
      !python.empty() && target_.layout->CallsNative(detail.innermost_opcode);
  MergedStack merged;
  if (ok && thread.native_id != 0 && WantsNativeStack(thread)) {
    absl::StatusOr<NativeStack> native = unwinder_->Unwind(thread.native_id);
    if (native.ok()) {
      merged = MergeStacks(python, detail, *native, *target_.layout, keep_plumbing_);
      python = std::move(merged.frames);
      signals.leaf = &merged.leaf;
      // A native stack cut short still gives its inner frames, which is what states and
      // blame need; the thread's sample is counted as an error all the same.
      if (!native->error.empty()) {
        thread.error = absl::StrCat("native stack: ", native->error);
        ok = false;
      }
    } else {
      thread.error = absl::StrCat("native stack: ", native.status().message());
      ok = false;
    }
  }
  thread.frames = std::move(python);
  thread.state = RefineWithStacks(thread.state, signals);
  if (thread.state == ThreadState::kHoldingGilInNative && signals.leaf != nullptr) {
    thread.native_function = signals.leaf->function;
  }
  return ok;
}

absl::StatusOr<Snapshot> SnapshotTaker::Take() {
  memory_.Clear();  // the target may have run since the last sample
  codes_.BeginSample();  // reads through memory_ stand still until the next Clear()
  absl::StatusOr<std::vector<pid_t>> tids = tasks_.ListThreads();
  if (!tids.ok()) {
    if (absl::IsNotFound(tids.status())) {
      return absl::NotFoundError(absl::StrFormat("process %d has exited", target_.pid));
    }
    return tids.status();
  }
  absl::flat_hash_set<pid_t> live(tids->begin(), tids->end());
  absl::flat_hash_map<pid_t, TaskActivity> activities;
  for (pid_t tid : *tids) {
    absl::StatusOr<TaskActivity> activity = tasks_.ReadTask(tid);
    if (activity.ok()) activities.emplace(tid, std::move(*activity));
  }
  absl::StatusOr<std::vector<InterpreterRecord>> interpreters =
      WalkInterpreters(memory_, *target_.layout, target_.interpreters_head, live);
  if (!interpreters.ok()) {
    if (live.empty() || absl::IsNotFound(interpreters.status())) {
      return absl::NotFoundError(absl::StrFormat("process %d has exited", target_.pid));
    }
    return absl::DataLossError(absl::StrCat("cannot read the interpreter's threads: ",
                                            interpreters.status().message()));
  }

  // One GIL for the process, or (3.12+) one per interpreter that has its own.
  absl::flat_hash_map<RemoteAddress, GilState> gil_states;
  auto gil_key = [&](const InterpreterRecord& interp) {
    return target_.layout->gil_model == GilModel::kPerInterpreter ? interp.gil : RemoteAddress{0};
  };
  Snapshot snapshot;
  absl::flat_hash_map<RemoteAddress, size_t> gil_index;
  for (const InterpreterRecord& interp : *interpreters) {
    const RemoteAddress key = gil_key(interp);
    if (gil_states.contains(key)) continue;
    GilLocation location = target_.gil;
    if (key != 0) location.gil_struct = key;
    ASSIGN_OR_RETURN(GilState state, ReadGil(memory_, *target_.layout, location));
    gil_states.emplace(key, state);
    gil_index[key] = snapshot.gils.size();
    GilSnapshot summary;
    summary.interpreter_id = interp.id;
    summary.enabled = state.enabled;
    summary.locked = state.locked;
    summary.switch_number = state.switch_number;
    snapshot.gils.push_back(summary);
  }

  absl::flat_hash_set<pid_t> covered;
  for (const InterpreterRecord& interp : *interpreters) {
    const RemoteAddress key = gil_key(interp);
    const GilState& gil = gil_states.at(key);
    GilSnapshot& gil_summary = snapshot.gils[gil_index.at(key)];
    // Names are a nicety: a failure to read them leaves them empty, never fails the sample.
    std::vector<std::string> names = names_.ReadNames(interp);
    for (size_t i = 0; i < interp.threads.size(); ++i) {
      const ThreadRecord& record = interp.threads[i];
      ThreadSnapshot thread;
      thread.name = std::move(names[i]);
      thread.native_id = record.native_id;
      thread.thread_id = record.thread_id;
      thread.interpreter_id = interp.id;
      thread.gil_index = static_cast<int>(gil_index.at(key));
      thread.swapped_out = record.active.has_value() && !*record.active;
      thread.is_python = true;
      thread.is_main = record.native_id == target_.pid;
      const bool holds = gil.locked && gil.holder == record.thread_state;
      auto activity = activities.find(record.native_id);
      const TaskActivity* task = activity == activities.end() ? nullptr : &activity->second;
      Classification classified = ClassifyThread(holds, task, gil, target_.take_gil);
      thread.state = classified.state;
      thread.blocked_in = classified.blocked_in;
      if (task != nullptr) thread.os_name = task->stat.comm;
      if (holds) gil_summary.holder_native_id = record.native_id;
      if (!ReadStacks(record.top_frame, thread)) ++snapshot.errors;
      if (thread.state == ThreadState::kWaitingForGil) ++gil_summary.waiters;
      if (record.native_id != 0) covered.insert(record.native_id);
      snapshot.threads.push_back(std::move(thread));
    }
  }

  // 3.12 gives a subinterpreter's thread states their creator's OS id: they cannot be matched.
  const PythonLayout& layout = *target_.layout;
  if (layout.major > 3 || (layout.major == 3 && layout.minor >= 13)) {
    FoldSwappedOutThreadStates(snapshot.threads);
  }

  // OS threads with no Python thread state: native helpers, or threads of C libraries.
  // An interpreter shutting down can leave no interpreter to take a GIL from.
  const GilState main_gil = gil_states.empty() ? GilState{} : gil_states.begin()->second;
  for (pid_t tid : *tids) {
    if (covered.contains(tid)) continue;
    auto activity = activities.find(tid);
    if (activity == activities.end()) continue;  // exited meanwhile
    ThreadSnapshot thread;
    thread.native_id = tid;
    thread.is_main = tid == target_.pid;
    thread.os_name = activity->second.stat.comm;
    Classification classified = ClassifyThread(false, &activity->second, main_gil, target_.take_gil);
    thread.state = classified.state;
    thread.blocked_in = classified.blocked_in;
    if (!ReadStacks(0, thread)) ++snapshot.errors;
    snapshot.threads.push_back(std::move(thread));
  }

  std::stable_sort(snapshot.threads.begin(), snapshot.threads.end(),
                   [](const ThreadSnapshot& a, const ThreadSnapshot& b) {
                     if (a.is_python != b.is_python) return a.is_python;
                     if (a.is_main != b.is_main) return a.is_main;
                     return a.native_id < b.native_id;
                   });
  return snapshot;
}

}  // namespace gilscope
