#include "gilscope/sampler/snapshot.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/sampler/failure_policy.h"
#include "gilscope/walkers/thread_walker.h"

namespace gilscope {

namespace {

// How likely a thread state is to be the one its OS thread uses now; the highest wins.
// CPython sets `active` while a thread state is attached (Python/pystate.c, tstate_activate),
// but a thread blocked outside Python (a sleep, a join, a wait for the GIL) is attached
// nowhere and all its states read inactive. Then the one holding or waiting for its own
// interpreter's GIL is where the thread is (or is about to be) attached; else one with frames;
// else the newest interpreter's, entered last (interpreters are numbered as they are created).
std::tuple<bool, bool, bool, int64_t> CurrentnessOf(const ThreadSnapshot& thread) {
  const bool gil_bound = HoldsGil(thread.state) || thread.state == ThreadState::kWaitingForGil;
  return {thread.active.value_or(false), gil_bound, !thread.frames.empty(), thread.interpreter_id};
}

bool PlaceholderName(const std::string& name) {
  // A subinterpreter's threading module names a thread it did not start "Dummy-N".
  return name.empty() || name.rfind("Dummy-", 0) == 0;
}

// Appends `caller`'s Python stack below `current`'s: its frames are the outer ones.
void AppendCaller(StackRead& current, const StackRead& caller) {
  ThreadSnapshot& thread = current.thread;
  thread.frames.insert(thread.frames.end(), caller.thread.frames.begin(),
                       caller.thread.frames.end());
  std::vector<bool>& starts = current.detail.starts_eval_call;
  starts.insert(starts.end(), caller.detail.starts_eval_call.begin(),
                caller.detail.starts_eval_call.end());
  current.python_ok = current.python_ok && caller.python_ok;
  if (PlaceholderName(thread.name) && !PlaceholderName(caller.thread.name))
    thread.name = caller.thread.name;
  if (thread.error.empty()) thread.error = caller.thread.error;
  thread.is_main = thread.is_main || caller.thread.is_main;
}

// A thread that runs code in another interpreter (interp.exec(), 3.12+) has a thread state in
// each, all with its OS id. It is shown once: as the state in use (its interpreter, GIL state
// and innermost frames), with the other states' frames below, innermost first, since they are
// its callers (worker -> interp.exec -> code in the subinterpreter).
void FoldThreadStatesOfOneOsThread(std::vector<StackRead>& reads) {
  absl::flat_hash_map<pid_t, std::vector<size_t>> by_tid;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].thread.native_id != 0) by_tid[reads[i].thread.native_id].push_back(i);
  }
  std::vector<bool> folded(reads.size(), false);
  for (auto& [tid, states] : by_tid) {
    if (states.size() < 2) continue;
    std::stable_sort(states.begin(), states.end(), [&](size_t a, size_t b) {
      return CurrentnessOf(reads[a].thread) > CurrentnessOf(reads[b].thread);
    });
    for (size_t k = 1; k < states.size(); ++k) {
      AppendCaller(reads[states.front()], reads[states[k]]);
      folded[states[k]] = true;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (folded[i]) continue;
    if (kept != i) reads[kept] = std::move(reads[i]);
    ++kept;
  }
  reads.resize(kept);
}

// 3.13+ binds every thread state to the OS thread that uses it. 3.12's interp.exec() runs on
// the subinterpreter's first thread state, which keeps its creator's OS id (CPython gh-109860):
// matching by OS id would fold it into the wrong thread, so 3.12's states are shown as read.
bool ThreadStatesKnowTheirOsThread(const PythonLayout& layout) {
  return layout.major > 3 || (layout.major == 3 && layout.minor >= 13);
}

}  // namespace

SnapshotTaker::SnapshotTaker(const PythonTarget& target, RemoteMemory& memory, TaskReader& tasks)
    : target_(target),
      memory_(memory),
      tasks_(tasks),
      codes_(memory_, *target.layout, target.code_type),
      names_(memory_, *target.layout) {}

absl::Status SnapshotTaker::EnableNativeStacks(NativeStacks which, bool keep_plumbing,
                                               NativeUnwinderFactory make_unwinder) {
  native_stacks_ = which;
  keep_plumbing_ = keep_plumbing;
  if (which == NativeStacks::kNone) {
    unwinder_.reset();
    return absl::OkStatus();
  }
  if (!make_unwinder) {
    make_unwinder = [](pid_t pid, RemoteMemory& memory, std::string interpreter_object) {
      return NativeUnwinder::Create(pid, memory, std::move(interpreter_object));
    };
  }
  ASSIGN_OR_RETURN(unwinder_, make_unwinder(target_.pid, memory_, target_.python_binary));
  return absl::OkStatus();
}

bool SnapshotTaker::WantsNativeStack(const ThreadSnapshot& thread) const {
  switch (native_stacks_) {
    case NativeStacks::kNone:
      return false;
    case NativeStacks::kAll:
      return true;
    case NativeStacks::kOnCpu:
      return HoldsGil(thread.state) || thread.state == ThreadState::kRunningWithoutGil;
  }
  return false;
}

SnapshotTaker::KeptStack* SnapshotTaker::StackStillValid(const ThreadRecord& record,
                                                         const TaskActivity* task) {
  // Not run since the read of /proc that preceded the walk that kept it: the same stack.
  if (task == nullptr || !task->unchanged) return nullptr;
  auto kept = kept_stacks_.find(std::make_pair(record.native_id, record.thread_state));
  if (kept == kept_stacks_.end() || kept->second.observation != task->observation) return nullptr;
  const bool same_top = record.top_frame_read ? kept->second.top_frame == record.top_frame
                                              : kept->second.cframe == record.cframe;
  return same_top ? &kept->second : nullptr;
}

void SnapshotTaker::ReadPythonStack(const ThreadRecord& record, const TaskActivity* task,
                                    StackRead& read) {
  const std::pair<pid_t, RemoteAddress> key{record.native_id, record.thread_state};
  if (KeptStack* kept = StackStillValid(record, task)) {
    read.thread.frames = kept->frames;
    read.detail = kept->detail;
    kept->used_in = sample_;
    return;
  }
  absl::StatusOr<RemoteAddress> top_frame = TopFrameOf(memory_, *target_.layout, record);
  absl::StatusOr<std::vector<Frame>> frames =
      top_frame.ok() ? WalkFrames(memory_, *target_.layout, codes_, *top_frame, &read.detail)
                     : absl::StatusOr<std::vector<Frame>>(top_frame.status());
  if (!frames.ok()) {
    read.thread.error = std::string(frames.status().message());
    read.python_ok = false;
    return;
  }
  read.thread.frames = std::move(*frames);
  // Read while the thread sat in a system call, after /proc's look at it: if it has not run
  // by the next sample, this is still its stack.
  if (task != nullptr && task->observation != 0 &&
      task->syscall.kind == TaskSyscall::Kind::kInSyscall && record.native_id != 0) {
    KeptStack& kept = kept_stacks_[key];
    kept.observation = task->observation;
    kept.top_frame = *top_frame;
    kept.cframe = record.cframe;
    kept.frames = read.thread.frames;
    kept.detail = read.detail;
    kept.used_in = sample_;
  }
}

void SnapshotTaker::FinishStacks(StackRead& read) {
  ThreadSnapshot& thread = read.thread;
  const FrameWalkDetail& detail = read.detail;
  StackSignals signals;
  signals.has_python_frames = !thread.frames.empty();
  signals.innermost_calls_native =
      !thread.frames.empty() && target_.layout->CallsNative(detail.innermost_opcode);
  // With the GIL off (free-threaded) the eval breaker never waits for it.
  signals.innermost_at_eval_breaker = read.gil_enabled && !thread.frames.empty() &&
                                      target_.layout->AtEvalBreaker(detail.innermost_opcode);
  MergedStack merged;
  if (read.python_ok && thread.native_id != 0 && WantsNativeStack(thread)) {
    absl::StatusOr<NativeStack> native = unwinder_->Unwind(thread.native_id);
    if (native.ok()) {
      merged = MergeStacks(thread.frames, detail, *native, *target_.layout, keep_plumbing_);
      thread.frames = std::move(merged.frames);
      signals.leaf = &merged.leaf;
      // A native stack cut short still gives its inner frames, which is what states and
      // blame need; the thread's sample is counted as an error all the same.
      if (!native->error.empty()) thread.error = absl::StrCat("native stack: ", native->error);
    } else {
      thread.error = absl::StrCat("native stack: ", native.status().message());
    }
  }
  thread.state = RefineWithStacks(thread.state, signals);
  read.unplaced = read.runnable && thread.state == ThreadState::kRunningWithoutGil &&
                  signals.leaf == nullptr && thread.is_python;
  read.unplaced_at = signals.innermost_calls_native                    ? UnplacedAt::kCall
                     : target_.layout->eval_breaker_after_most_opcodes ? UnplacedAt::kEvalBreaker
                                                                       : UnplacedAt::kOtherOpcode;
  if (thread.state == ThreadState::kHoldingGilInNative && signals.leaf != nullptr) {
    thread.native_function = signals.leaf->function;
  }
}

void SnapshotTaker::PlaceUnplaced(std::vector<StackRead>& reads,
                                  const std::vector<const GilState*>& gil_by_index) {
  for (size_t gil = 0; gil < gil_by_index.size(); ++gil) {
    if (gil_by_index[gil] == nullptr) continue;
    // Without glibc's count (words that made no sense), no waiter is known to be unseen: the
    // same placement as a count of none, unknown wherever a dropper may sit.
    CountedWaits waits;
    waits.counted_waiters = gil_by_index[gil]->counted_waiters.value_or(0);
    std::vector<StackRead*> unplaced;
    std::vector<UnplacedAt> at;
    for (StackRead& read : reads) {
      if (read.thread.gil_index != static_cast<int>(gil)) continue;
      if (read.in_counted_wait) ++waits.blocked;
      if (read.runnable && read.thread.state == ThreadState::kWaitingForGil)
        ++waits.runnable_waiting;
      if (read.unplaced) {
        unplaced.push_back(&read);
        at.push_back(read.unplaced_at);
      }
    }
    if (unplaced.empty()) continue;
    const std::vector<ThreadState> states = PlaceByCountedWaits(waits, at);
    for (size_t i = 0; i < unplaced.size(); ++i) unplaced[i]->thread.state = states[i];
  }
}

RemoteAddress SnapshotTaker::GilKey(const InterpreterRecord& interp) const {
  return target_.layout->gil_model == GilModel::kPerInterpreter ? interp.gil : RemoteAddress{0};
}

GilLocation SnapshotTaker::GilLocationOf(RemoteAddress key) const {
  GilLocation location = target_.gil;
  if (key != 0) location.gil_struct = key;
  return location;
}

absl::StatusOr<std::optional<uint64_t>> SnapshotTaker::CountHandOffs() {
  memory_.Clear();
  ASSIGN_OR_RETURN(std::vector<InterpreterRecord> interpreters,
                   WalkInterpreters(memory_, *target_.layout, target_.interpreters_head, {}));
  std::optional<uint64_t> total;
  absl::flat_hash_set<RemoteAddress> seen;
  for (const InterpreterRecord& interp : interpreters) {
    const RemoteAddress key = GilKey(interp);
    if (!seen.insert(key).second) continue;
    ASSIGN_OR_RETURN(GilState state, ReadGil(memory_, *target_.layout, GilLocationOf(key)));
    if (state.switch_number) total = total.value_or(0) + *state.switch_number;
  }
  return total;
}

absl::StatusOr<std::vector<pid_t>> SnapshotTaker::ListThreads() {
  absl::StatusOr<std::vector<pid_t>> tids = tasks_.ListThreads();
  if (!tids.ok() && Classify(tids.status()) == FailureMeaning::kTargetExited) {
    return absl::NotFoundError(absl::StrFormat("process %d has exited", target_.pid));
  }
  return tids;
}

absl::StatusOr<std::vector<pid_t>> SnapshotTaker::ThreadsToStop() {
  absl::StatusOr<std::vector<pid_t>> tids = ListThreads();
  if (!tids.ok()) return tids.status();
  // 2.7's GIL is a semaphore its holder lets go of and takes back every 100 instructions, in
  // reach of the next one only if that one gets to run: stopping the holder alone in the
  // middle of that changes who gets it, and how often the GIL reads held (measured on two
  // spinners, 100 Hz: 13% with only the threads that run stopped, 48% with every thread,
  // 75% without a pause). Every thread is stopped, as the whole-process pause did.
  if (target_.layout->gil_model == GilModel::kSemaphore27) return *std::move(tids);
  std::vector<pid_t> stop;
  for (pid_t tid : *tids) {
    absl::StatusOr<TaskActivity> activity = tasks_.ReadTask(tid);
    if (!activity.ok() || activity->syscall.kind == TaskSyscall::Kind::kInSyscall) continue;
    if (native_stacks_ == NativeStacks::kNone && !python_threads_.empty() &&
        !python_threads_.contains(tid)) {
      continue;
    }
    stop.push_back(tid);
  }
  return stop;
}

absl::StatusOr<Snapshot> SnapshotTaker::Take() {
  memory_.Clear();       // the target may have run since the last sample
  codes_.BeginSample();  // reads through memory_ stand still until the next Clear()
  ++sample_;
  absl::StatusOr<std::vector<pid_t>> tids = ListThreads();
  if (!tids.ok()) return tids.status();
  absl::flat_hash_set<pid_t> live(tids->begin(), tids->end());
  absl::flat_hash_map<pid_t, TaskActivity> activities;
  for (pid_t tid : *tids) {
    absl::StatusOr<TaskActivity> activity = tasks_.ReadTask(tid);
    if (activity.ok()) activities.emplace(tid, std::move(*activity));
  }
  // A thread whose kept stack still holds needs no top frame: on 3.11 and 3.12 that saves a
  // page of its C stack.
  auto unchanged = [&](const ThreadRecord& record) {
    auto activity = activities.find(record.native_id);
    return activity != activities.end() && StackStillValid(record, &activity->second) != nullptr;
  };
  absl::StatusOr<std::vector<InterpreterRecord>> interpreters =
      WalkInterpreters(memory_, *target_.layout, target_.interpreters_head, live, unchanged);
  if (!interpreters.ok()) {
    if (live.empty() || Classify(interpreters.status()) == FailureMeaning::kTargetExited) {
      return absl::NotFoundError(absl::StrFormat("process %d has exited", target_.pid));
    }
    return absl::DataLossError(
        absl::StrCat("cannot read the interpreter's threads: ", interpreters.status().message()));
  }

  // One GIL for the process, or (3.12+) one per interpreter that has its own. Walked by id, so
  // each GIL is named after its first user: the main interpreter for the GIL legacy
  // subinterpreters share (CPython lists interpreters newest first).
  std::vector<const InterpreterRecord*> by_id;
  for (const InterpreterRecord& interp : *interpreters) by_id.push_back(&interp);
  std::stable_sort(
      by_id.begin(), by_id.end(),
      [](const InterpreterRecord* a, const InterpreterRecord* b) { return a->id < b->id; });
  absl::flat_hash_map<RemoteAddress, GilState> gil_states;
  Snapshot snapshot;
  absl::flat_hash_map<RemoteAddress, size_t> gil_index;
  for (const InterpreterRecord* interp : by_id) {
    const RemoteAddress key = GilKey(*interp);
    if (!gil_states.contains(key)) {
      ASSIGN_OR_RETURN(GilState state, ReadGil(memory_, *target_.layout, GilLocationOf(key)));
      gil_states.emplace(key, state);
      gil_index[key] = snapshot.gils.size();
      GilSnapshot summary;
      summary.interpreter_id = interp->id;
      summary.enabled = state.enabled;
      summary.locked = state.locked;
      summary.switch_number = state.switch_number;
      snapshot.gils.push_back(summary);
    }
    snapshot.interpreters.push_back({interp->id, static_cast<int>(gil_index.at(key))});
  }

  // Python stacks first, native ones once a thread's states are folded into one stack.
  std::vector<StackRead> reads;
  absl::flat_hash_set<pid_t> covered;
  for (const InterpreterRecord* interp : by_id) {
    const RemoteAddress key = GilKey(*interp);
    const GilState& gil = gil_states.at(key);
    GilSnapshot& gil_summary = snapshot.gils[gil_index.at(key)];
    // Names are a nicety: a failure to read them leaves them empty, never fails the sample.
    std::vector<std::string> names = names_.ReadNames(*interp);
    for (size_t i = 0; i < interp->threads.size(); ++i) {
      const ThreadRecord& record = interp->threads[i];
      StackRead& read = reads.emplace_back();
      ThreadSnapshot& thread = read.thread;
      thread.name = std::move(names[i]);
      thread.native_id = record.native_id;
      thread.thread_id = record.thread_id;
      thread.interpreter_id = interp->id;
      thread.gil_index = static_cast<int>(gil_index.at(key));
      thread.active = record.active;
      thread.is_python = true;
      thread.is_main = record.native_id == target_.pid;
      const bool holds = gil.locked && gil.holder == record.thread_state;
      auto activity = activities.find(record.native_id);
      if (activity == activities.end() && record.native_id != 0 &&
          !live.contains(record.native_id)) {
        // Started since the listing the task reader gave (which may be an earlier one).
        absl::StatusOr<TaskActivity> late = tasks_.ReadTask(record.native_id);
        if (late.ok()) activity = activities.emplace(record.native_id, *std::move(late)).first;
      }
      const TaskActivity* task = activity == activities.end() ? nullptr : &activity->second;
      Classification classified = ClassifyThread(holds, task, gil, target_.take_gil);
      thread.state = classified.state;
      thread.blocked_in = classified.blocked_in;
      read.runnable = classified.runnable;
      read.gil_enabled = gil.enabled;
      read.in_counted_wait = classified.in_counted_wait;
      if (task != nullptr) thread.os_name = task->comm;
      if (holds) gil_summary.holder_native_id = record.native_id;
      ReadPythonStack(record, task, read);
      if (record.native_id != 0) covered.insert(record.native_id);
    }
  }
  absl::erase_if(kept_stacks_, [&](const auto& kept) { return kept.second.used_in != sample_; });
  if (ThreadStatesKnowTheirOsThread(*target_.layout)) FoldThreadStatesOfOneOsThread(reads);
  for (StackRead& read : reads) FinishStacks(read);
  std::vector<const GilState*> gil_by_index(snapshot.gils.size(), nullptr);
  for (const auto& [key, index] : gil_index) gil_by_index[index] = &gil_states.at(key);
  PlaceUnplaced(reads, gil_by_index);
  for (StackRead& read : reads) {
    ThreadSnapshot& thread = read.thread;
    if (!thread.error.empty()) ++snapshot.errors;
    snapshot.threads.push_back(std::move(thread));
  }

  // OS threads with no Python thread state: native helpers, or threads of C libraries.
  // An interpreter shutting down can leave no interpreter to take a GIL from.
  const GilState main_gil = by_id.empty() ? GilState{} : gil_states.at(GilKey(*by_id.front()));
  for (pid_t tid : *tids) {
    if (covered.contains(tid)) continue;
    auto activity = activities.find(tid);
    if (activity == activities.end()) continue;  // exited meanwhile
    Classification classified =
        ClassifyThread(false, &activity->second, main_gil, target_.take_gil);
    StackRead read;
    read.thread.native_id = tid;
    read.thread.is_main = tid == target_.pid;
    read.thread.os_name = activity->second.comm;
    read.thread.state = classified.state;
    read.thread.blocked_in = classified.blocked_in;
    FinishStacks(read);
    if (!read.thread.error.empty()) ++snapshot.errors;
    snapshot.threads.push_back(std::move(read.thread));
  }

  python_threads_ = std::move(covered);

  std::stable_sort(snapshot.threads.begin(), snapshot.threads.end(),
                   [](const ThreadSnapshot& a, const ThreadSnapshot& b) {
                     if (a.is_python != b.is_python) return a.is_python;
                     if (a.is_main != b.is_main) return a.is_main;
                     return a.native_id < b.native_id;
                   });
  // After folding, so a thread's states in other interpreters do not wait there, and after
  // sorting, so holder_thread indexes the final order.
  FillGilRoles(snapshot);
  return snapshot;
}

}  // namespace gilscope
