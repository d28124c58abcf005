#include "gilscope/aggregate/profile.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gilscope {
namespace {

// Decision-table thresholds, as shares of samples (or of busy thread-samples).
constexpr double kBusyShareForAnyVerdict = 0.02;  // below this the program did (almost) nothing
constexpr double kContentionThatMatters = 0.20;   // threads queued in at least 1 sample in 5
constexpr double kNativeHoldingShare = 0.50;      // holder in native code in half the held time

bool OnCpu(const ThreadSnapshot& thread) {
  return thread.state == ThreadState::kRunningWithoutGil ||
         (HoldsGil(thread.state) && thread.blocked_in.empty());
}

// Idle in a call that waits for the outside world, rather than asleep or on a lock: a
// program whose threads wait there is I/O-bound even when it hardly runs.
bool WaitsForIo(const ThreadSnapshot& thread) {
  if (thread.state != ThreadState::kIdle || thread.blocked_in.empty()) return false;
  static constexpr absl::string_view kNotIo[] = {"futex", "nanosleep",       "clock_nanosleep",
                                                 "pause", "rt_sigtimedwait", "rt_sigsuspend"};
  for (absl::string_view name : kNotIo) {
    if (thread.blocked_in == name) return false;
  }
  return true;
}

bool IsIdle(const ThreadSnapshot& thread) { return thread.state == ThreadState::kIdle; }

}  // namespace

const char* ProfileModeName(ProfileMode mode) {
  switch (mode) {
    case ProfileMode::kGil:
      return "gil";
    case ProfileMode::kWait:
      return "wait";
    case ProfileMode::kBlame:
      return "blame";
    case ProfileMode::kWall:
      return "wall";
    case ProfileMode::kCpu:
      return "cpu";
  }
  return "?";
}

std::optional<ProfileMode> ParseProfileMode(absl::string_view name) {
  for (ProfileMode mode : kAllModes) {
    if (name == ProfileModeName(mode)) return mode;
  }
  return std::nullopt;
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kIoBound:
      return "io_bound";
    case Verdict::kNativeReleasesGil:
      return "native_releases_gil";
    case Verdict::kPythonCpuBound:
      return "python_cpu_bound";
    case Verdict::kNativeHoldsGil:
      return "native_holds_gil";
    case Verdict::kIdle:
      return "idle";
    case Verdict::kNoGil:
      return "no_gil";
  }
  return "?";
}

namespace {
// Busy code holding a GIL nobody waits for: the GIL is not what slows it down.
constexpr char kUncontendedPythonAdvice[] =
    "Python bytecode keeps a CPU busy, but threads hardly queue for the GIL (one thread does "
    "the work, as in a pool worker): the GIL costs little here; to go faster, split the work "
    "over more processes or speed up the code the gil view names.";
constexpr char kUncontendedNativeAdvice[] =
    "Native code holding the GIL keeps a CPU busy, but threads hardly queue for it: the GIL "
    "costs little yet; it will once other threads need the interpreter (the gil view names the "
    "call).";
}  // namespace

const char* VerdictAdvice(Verdict verdict) {
  switch (verdict) {
    case Verdict::kIoBound:
      return "Threads mostly wait on I/O, sleep or other locks: the GIL is not the problem; "
             "threads or asyncio are the right tool.";
    case Verdict::kNativeReleasesGil:
      return "Time goes to native code that releases the GIL: the threads already run in parallel.";
    case Verdict::kPythonCpuBound:
      return "Threads queue for the GIL while Python bytecode runs: use processes "
             "(multiprocessing, concurrent.futures.ProcessPoolExecutor) or a free-threaded build.";
    case Verdict::kNativeHoldsGil:
      return "Threads queue while the holder sits in native code that keeps the GIL: change that "
             "extension to release it, or move the call to a subprocess (the blame view names it).";
    case Verdict::kIdle:
      return "Nothing happened: the program was idle while recorded.";
    case Verdict::kNoGil:
      return "The GIL was off (a free-threaded build): threads run Python in parallel; see where "
             "their time goes with --mode cpu or --mode wall.";
  }
  return "";
}

namespace {

// The same frame by its texts' identities: true only for frames the sampler handed again.
bool SameFrame(const Frame& a, const Frame& b) {
  return a.function.identity() == b.function.identity() && a.file.identity() == b.file.identity() &&
         a.line == b.line && a.kind == b.kind;
}

}  // namespace

StackId Profile::Intern(const ThreadSnapshot& thread, std::optional<FrameId>& root) {
  LastStack& last = last_stacks_[thread.native_id];
  last.seen = samples_;
  const std::vector<Frame>& frames = thread.frames;
  const size_t size = frames.size(), last_size = last.frames.size();
  if (size == last_size && !last.ids.empty() &&
      std::equal(frames.begin(), frames.end(), last.frames.begin(), SameFrame)) {
    root = last.root;
    return last.stack;
  }
  // A frame at the same depth from the root as last time keeps its id.
  std::vector<FrameId> root_first;
  root_first.reserve(size);
  for (size_t depth = 0; depth < size; ++depth) {
    const Frame& frame = frames[size - 1 - depth];
    const bool same = depth < last_size && SameFrame(frame, last.frames[last_size - 1 - depth]);
    root_first.push_back(same ? last.ids[depth] : stacks_.InternFrame(frame));
  }
  last.root.reset();
  for (size_t depth = 0; depth < size && !last.root; ++depth) {
    if (frames[size - 1 - depth].kind == FrameKind::kPython) last.root = root_first[depth];
  }
  root = last.root;
  last.frames = frames;
  last.stack = stacks_.InternStack(root_first);
  last.ids = std::move(root_first);
  return last.stack;
}

void Profile::ForgetLastStacks(size_t live_threads) {
  // Threads come and go: keep the stacks of those in the latest sample once many have ended.
  if (last_stacks_.size() <= 2 * live_threads + 64) return;
  absl::erase_if(last_stacks_, [&](const auto& entry) { return entry.second.seen < samples_; });
}

void Profile::Add(ProfileMode mode, StackId stack, const ThreadSnapshot& thread, int64_t weight) {
  weights_[static_cast<size_t>(mode)]
          [WeightedStackKey{stack, thread.state, thread.interpreter_id}] += weight;
}

double Profile::GilCounts::SwitchWindow() const {
  return first_switch ? absl::ToDoubleSeconds(last_switch_at - first_switch_at) : 0;
}

double Profile::GilCounts::Switches() const {
  return first_switch ? static_cast<double>(*last_switch - *first_switch) : 0;
}

// One sample's threads wanting a CPU and on one, per GIL (by index in snapshot.gils) and for
// the whole process; counted in AddSample's pass over the threads. A thread of no known GIL
// counts for the whole process only.
struct Profile::ParallelismCount {
  explicit ParallelismCount(size_t gils) : per_gil(gils) {}
  void Count(const ThreadSnapshot& thread) {
    // A holder blocked in a system call counts as on a CPU: it keeps the others' turn.
    const bool on = HoldsGil(thread.state) || thread.state == ThreadState::kRunningWithoutGil;
    const bool wants = on || thread.state == ThreadState::kWaitingForGil;
    wanting += wants;
    on_cpu += on;
    if (thread.gil_index >= 0 && static_cast<size_t>(thread.gil_index) < per_gil.size()) {
      per_gil[static_cast<size_t>(thread.gil_index)].first += wants;
      per_gil[static_cast<size_t>(thread.gil_index)].second += on;
    }
  }
  absl::InlinedVector<std::pair<int, int>, 4> per_gil;
  int wanting = 0, on_cpu = 0;
};

void Profile::AddSample(const Snapshot& snapshot, absl::Time at) {
  ++samples_;
  errors_ += snapshot.errors;
  if (!first_at_) first_at_ = at;
  last_at_ = at;

  bool any_gil_enabled = snapshot.gils.empty();
  for (const GilSnapshot& gil : snapshot.gils) any_gil_enabled |= gil.enabled;
  if (!any_gil_enabled) ++gil_disabled_samples_;

  // Each GIL's holder and waiters, as the sampler settled them (FillGilRoles). With several
  // GILs (subinterpreters with their own) several threads hold one at once, and a holder makes
  // only its own GIL's waiters wait.
  bool held = false;
  int waiters = 0;
  for (const GilSnapshot& gil : snapshot.gils) {
    GilCounts& counts = per_gil_[gil.interpreter_id];
    ++counts.samples;
    counts.users.insert(gil.interpreter_id);
    const ThreadSnapshot* holder = gil.holder_thread >= 0
                                       ? &snapshot.threads[static_cast<size_t>(gil.holder_thread)]
                                       : nullptr;
    const bool in_native = holder != nullptr && holder->state == ThreadState::kHoldingGilInNative;
    if (holder != nullptr) {
      held = true;
      ++counts.held;
      if (in_native) ++counts.held_in_native;
    }
    if (gil.waiters > 0) {
      ++counts.contended;
      if (holder != nullptr) ++counts.contended_held;
      if (in_native) ++counts.contended_in_native;
    }
    counts.waiters += gil.waiters;
    waiters += gil.waiters;
    if (gil.switch_number) {
      if (!counts.first_switch) {
        counts.first_switch = gil.switch_number;
        counts.first_switch_at = at;
      }
      counts.last_switch = gil.switch_number;
      counts.last_switch_at = at;
    }
  }
  for (const InterpreterSnapshot& interp : snapshot.interpreters) {
    if (interp.gil_index >= 0) {
      per_gil_[snapshot.gils[static_cast<size_t>(interp.gil_index)].interpreter_id].users.insert(
          interp.id);
    }
  }
  if (held) ++held_samples_;
  if (waiters > 0) ++contended_samples_;
  waiter_total_ += waiters;

  ParallelismCount parallelism(snapshot.gils.size());
  const bool in_timeline = timeline_.BeginSample(at);
  if (in_timeline) {
    for (const GilSnapshot& gil : snapshot.gils) timeline_.AddGil(gil);
  }
  for (size_t i = 0; i < snapshot.threads.size(); ++i) {
    const ThreadSnapshot& thread = snapshot.threads[i];
    if (!thread.is_python) continue;
    parallelism.Count(thread);
    ThreadTally& tally = threads_[thread.native_id];
    ThreadShare& share = tally.share;
    share.native_id = thread.native_id;
    ++tally.interpreters[thread.interpreter_id];
    tally.last_seen = samples_;
    // Python's name appears once the thread registers with threading; prefer it from then on.
    if (!thread.name.empty()) {
      share.name = thread.name;
      share.python_name = true;
    } else if (share.name.empty()) {
      share.name = thread.os_name;
    }
    if (WaitsForIo(thread)) ++share.in_io;
    ++share.samples;
    switch (thread.state) {
      case ThreadState::kHoldingGil:
        ++share.held;
        break;
      case ThreadState::kHoldingGilInNative:
        ++share.held;
        ++share.held_in_native;
        break;
      case ThreadState::kWaitingForGil:
        ++share.waiting;
        break;
      case ThreadState::kRunningWithoutGil:
        ++share.running;
        break;
      case ThreadState::kIdle:
        ++share.idle;
        break;
      case ThreadState::kUnknown:
        ++share.unknown;
        break;
    }
    // Idle threads' stacks too: the timeline shows where they sleep.
    std::optional<FrameId> root;
    const StackId stack = Intern(thread, root);
    if (root) ++tally.roots[*root];
    const GilSnapshot* gil =
        thread.gil_index >= 0 ? &snapshot.gils[static_cast<size_t>(thread.gil_index)] : nullptr;
    const bool holder = gil != nullptr && gil->holder_thread == static_cast<int>(i);
    if (in_timeline) timeline_.AddThread(thread, stack, holder ? gil->waiters : 0);
    if (IsIdle(thread) && !keep_idle_in_wall_) continue;
    Add(ProfileMode::kWall, stack, thread, 1);
    if (OnCpu(thread)) Add(ProfileMode::kCpu, stack, thread, 1);
    if (thread.state == ThreadState::kWaitingForGil) Add(ProfileMode::kWait, stack, thread, 1);
    if (holder) {
      Add(ProfileMode::kGil, stack, thread, 1);
      if (gil->waiters > 0) Add(ProfileMode::kBlame, stack, thread, gil->waiters);
    }
  }
  parallelism_.Add(parallelism.wanting, parallelism.on_cpu);
  for (size_t i = 0; i < snapshot.gils.size(); ++i) {
    per_gil_[snapshot.gils[i].interpreter_id].parallelism.Add(parallelism.per_gil[i].first,
                                                              parallelism.per_gil[i].second);
  }
  FoldEndedThreads();
  ForgetLastStacks(snapshot.threads.size());
}

GilFigures Profile::Figures() const {
  GilFigures figures;
  figures.samples = samples_;
  figures.errors = errors_;
  if (first_at_ && last_at_) figures.duration_s = absl::ToDoubleSeconds(*last_at_ - *first_at_);
  if (samples_ == 0) return figures;
  const double n = static_cast<double>(samples_);
  figures.gil_held = held_samples_ / n;
  figures.contention = contended_samples_ / n;
  figures.mean_waiters = waiter_total_ / n;
  figures.gil_disabled = gil_disabled_samples_ / n;
  figures.gil_never_enabled = gil_disabled_samples_ == samples_;
  int64_t held = 0, held_in_native = 0;
  double rate = 0, switches = 0, held_seconds = 0;
  bool counted = false;
  for (const auto& [id, counts] : per_gil_) {
    held += counts.held;
    held_in_native += counts.held_in_native;
    const double window = counts.SwitchWindow();
    if (window <= 0) continue;
    counted = true;
    rate += counts.Switches() / window;
    switches += counts.Switches();
    held_seconds += static_cast<double>(counts.held) / counts.samples * window;
  }
  if (held > 0) figures.held_in_native = static_cast<double>(held_in_native) / held;
  int64_t thread_samples = ended_threads_.samples, unknown = ended_threads_.unknown;
  for (const auto& [id, tally] : threads_) {
    thread_samples += tally.share.samples;
    unknown += tally.share.unknown;
  }
  if (thread_samples > 0) figures.unknown = static_cast<double>(unknown) / thread_samples;
  if (counted) {
    figures.switches_per_s = rate;
    if (switches > 0) figures.mean_hold_ms = held_seconds * 1000.0 / switches;
  }
  return figures;
}

std::vector<PerGilFigures> Profile::PerGil() const {
  std::vector<PerGilFigures> result;
  for (const auto& [interpreter_id, counts] : per_gil_) {
    PerGilFigures gil;
    gil.interpreter_id = interpreter_id;
    gil.interpreter_ids.assign(counts.users.begin(), counts.users.end());
    gil.samples = counts.samples;
    const double n = static_cast<double>(counts.samples);
    gil.held = counts.held / n;
    gil.contention = counts.contended / n;
    gil.mean_waiters = counts.waiters / n;
    if (counts.held > 0)
      gil.held_in_native = static_cast<double>(counts.held_in_native) / counts.held;
    const double window = counts.SwitchWindow();
    if (window > 0) {
      gil.switches_per_s = counts.Switches() / window;
      if (counts.Switches() > 0) gil.mean_hold_ms = gil.held * window * 1000.0 / counts.Switches();
    }
    gil.parallelism = counts.parallelism;
    result.push_back(std::move(gil));
  }
  return result;
}

std::vector<int64_t> Profile::InterpreterIds() const {
  std::set<int64_t> seen;
  for (const auto& [id, counts] : per_gil_) seen.insert(counts.users.begin(), counts.users.end());
  for (const auto& [tid, tally] : threads_) {
    for (const auto& [id, samples] : tally.interpreters) {
      if (id >= 0) seen.insert(id);
    }
  }
  return std::vector<int64_t>(seen.begin(), seen.end());
}

std::vector<ThreadShare> Profile::Threads() const {
  std::vector<ThreadShare> threads;
  for (const auto& [id, tally] : threads_) {
    threads.push_back(tally.share);
    const std::map<int64_t, int64_t>& seen = tally.interpreters;
    threads.back().interpreter_id =
        std::max_element(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
          return a.second < b.second;
        })->first;
    const std::map<FrameId, int64_t>& roots = tally.roots;
    const auto root =
        std::max_element(roots.begin(), roots.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    if (root != roots.end())
      threads.back().root_function = stacks_.frame(root->first).function.str();
  }
  if (ended_thread_count_ > 0) {
    ThreadShare& ended = threads.emplace_back(ended_threads_);
    ended.native_id = 0;
    ended.interpreter_id = -1;
    ended.name = absl::StrCat(ended_thread_count_, " threads seen earlier, combined");
  }
  return threads;
}

void Profile::FoldEndedThreads() {
  if (threads_.size() <= fold_above_) return;
  std::vector<std::pair<int64_t, pid_t>> by_last_seen;
  for (const auto& [id, tally] : threads_) by_last_seen.push_back({tally.last_seen, id});
  std::sort(by_last_seen.begin(), by_last_seen.end());
  // Down to three quarters, so folding runs once per many new threads, not every sample.
  // Threads in the latest sample are never folded: a target with more live threads than the
  // limit keeps them all (their number is bounded by the thread walker's limits).
  size_t fold = 0;
  while (fold < threads_.size() - kMaxThreadsKept * 3 / 4 && by_last_seen[fold].first < samples_) {
    ++fold;
  }
  for (size_t i = 0; i < fold; ++i) {
    ended_threads_.AddCounts(threads_.at(by_last_seen[i].second).share);
    threads_.erase(by_last_seen[i].second);
  }
  ended_thread_count_ += static_cast<int64_t>(fold);
  // Live threads beyond the limit could not be folded: sort again only once many more came.
  fold_above_ = std::max(kMaxThreadsKept, threads_.size() + kMaxThreadsKept / 4);
}

VerdictDecision Profile::Decide() const {
  ThreadShare all = ended_threads_;
  for (const auto& [id, tally] : threads_) all.AddCounts(tally.share);
  const int64_t held = all.held, held_in_native = all.held_in_native, waiting = all.waiting,
                running = all.running, idle = all.idle, in_io = all.in_io;
  const int64_t total = held + waiting + running + idle;
  const int64_t busy = held + waiting + running;
  auto share_text = [](int64_t part, int64_t whole) {
    return absl::StrFormat("%.0f%%", 100.0 * static_cast<double>(part) /
                                         static_cast<double>(std::max<int64_t>(whole, 1)));
  };
  auto decided = [](Verdict verdict, std::string reason) {
    return VerdictDecision{verdict, std::move(reason), VerdictAdvice(verdict)};
  };
  if (total == 0) return decided(Verdict::kIdle, "no Python thread was sampled");
  if (static_cast<double>(busy) / static_cast<double>(total) < kBusyShareForAnyVerdict) {
    const std::string busy_text =
        absl::StrCat("threads busy in ", share_text(busy, total), " of thread-samples (< 2%)");
    return in_io > 0 ? decided(Verdict::kIoBound, absl::StrCat(busy_text, "; they wait in I/O"))
                     : decided(Verdict::kIdle, busy_text);
  }
  const GilFigures figures = Figures();
  if (figures.gil_disabled >= 0.5) {
    return decided(Verdict::kNoGil,
                   absl::StrFormat("the GIL was off in %.0f%% of samples (>= 50%%)",
                                   100 * figures.gil_disabled));
  }
  // Native code is judged by the holder: where threads waited, the holder they waited for
  // (a holder of another GIL at the same moment, a subinterpreter with its own, neither hides
  // nor fakes one in native code); where they hardly did, every holder.
  auto judge_holder = [&](int64_t in_native, int64_t of, std::string reason) {
    const bool native =
        of > 0 && static_cast<double>(in_native) >= kNativeHoldingShare * static_cast<double>(of);
    absl::StrAppend(&reason, "; holder in native code in ", share_text(in_native, of), " of them (",
                    native ? ">=" : "<", " 50%)");
    return decided(native ? Verdict::kNativeHoldsGil : Verdict::kPythonCpuBound, std::move(reason));
  };
  if (figures.contention >= kContentionThatMatters) {
    int64_t contended_held = 0, contended_in_native = 0;
    for (const auto& [id, counts] : per_gil_) {
      contended_held += counts.contended_held;
      contended_in_native += counts.contended_in_native;
    }
    return judge_holder(
        contended_in_native, contended_held,
        absl::StrFormat("GIL contended in %.0f%% of samples (>= 20%%)", 100 * figures.contention));
  }
  const std::string low_contention =
      absl::StrFormat("GIL contended in %.0f%% of samples (< 20%%)", 100 * figures.contention);
  if (running >= held && running >= idle) {
    return decided(Verdict::kNativeReleasesGil,
                   absl::StrCat(low_contention, "; threads ran without the GIL in ",
                                share_text(running, total), " of thread-samples, held it in ",
                                share_text(held, total), ", idle in ", share_text(idle, total)));
  }
  if (idle > busy) {
    return decided(Verdict::kIoBound, absl::StrCat(low_contention, "; threads idle in ",
                                                   share_text(idle, total), " of thread-samples"));
  }
  VerdictDecision decision = judge_holder(
      held_in_native, held,
      absl::StrCat(low_contention, "; threads held the GIL in ", share_text(held, total),
                   " of thread-samples, ran without it in ", share_text(running, total)));
  decision.advice = decision.verdict == Verdict::kNativeHoldsGil ? kUncontendedNativeAdvice
                                                                 : kUncontendedPythonAdvice;
  return decision;
}

}  // namespace gilscope
