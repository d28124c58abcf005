#include "gilscope/aggregate/profile.h"

#include <algorithm>

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
  static constexpr absl::string_view kNotIo[] = {"futex", "nanosleep", "clock_nanosleep",
                                                 "pause", "rt_sigtimedwait", "rt_sigsuspend"};
  for (absl::string_view name : kNotIo) {
    if (thread.blocked_in == name) return false;
  }
  return true;
}

}  // namespace

const char* ProfileModeName(ProfileMode mode) {
  switch (mode) {
    case ProfileMode::kGil: return "gil";
    case ProfileMode::kWait: return "wait";
    case ProfileMode::kBlame: return "blame";
    case ProfileMode::kWall: return "wall";
    case ProfileMode::kCpu: return "cpu";
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
    case Verdict::kIoBound: return "io_bound";
    case Verdict::kNativeReleasesGil: return "native_releases_gil";
    case Verdict::kPythonCpuBound: return "python_cpu_bound";
    case Verdict::kNativeHoldsGil: return "native_holds_gil";
    case Verdict::kIdle: return "idle";
    case Verdict::kNoGil: return "no_gil";
  }
  return "?";
}

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

StackId Profile::Intern(const ThreadSnapshot& thread) {
  std::vector<FrameId> root_first;
  root_first.reserve(thread.frames.size());
  for (auto it = thread.frames.rbegin(); it != thread.frames.rend(); ++it) {
    root_first.push_back(stacks_.InternFrame(*it));
  }
  return stacks_.InternStack(root_first);
}

void Profile::Add(ProfileMode mode, StackId stack, ThreadState state, int64_t weight) {
  weights_[static_cast<size_t>(mode)][WeightedStackKey{stack, state}] += weight;
}

void Profile::AddSample(const Snapshot& snapshot, absl::Time at) {
  ++samples_;
  errors_ += snapshot.errors;
  if (!first_at_) first_at_ = at;
  last_at_ = at;
  if (!snapshot.gils.empty() && snapshot.gils[0].switch_number) {
    if (!first_switch_) {
      first_switch_ = snapshot.gils[0].switch_number;
      first_switch_at_ = at;
    }
    last_switch_ = snapshot.gils[0].switch_number;
    last_switch_at_ = at;
  }

  bool any_gil_enabled = snapshot.gils.empty();
  for (const GilSnapshot& gil : snapshot.gils) any_gil_enabled |= gil.enabled;
  if (!any_gil_enabled) ++gil_disabled_samples_;

  // Several GILs (subinterpreters with their own): a holder makes only its own GIL's waiters
  // wait, so blame is counted per GIL.
  std::vector<int> gil_waiters(snapshot.gils.size(), 0);
  std::vector<bool> gil_held(snapshot.gils.size(), false);
  int waiters = 0;
  const ThreadSnapshot* holder = nullptr;
  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (!thread.is_python) continue;
    const bool indexed = thread.gil_index >= 0 && static_cast<size_t>(thread.gil_index) < gil_waiters.size();
    if (thread.state == ThreadState::kWaitingForGil) {
      ++waiters;
      if (indexed) ++gil_waiters[static_cast<size_t>(thread.gil_index)];
    }
    if (HoldsGil(thread.state)) {
      if (holder == nullptr) holder = &thread;
      if (indexed) gil_held[static_cast<size_t>(thread.gil_index)] = true;
    }
  }
  for (size_t i = 0; i < snapshot.gils.size(); ++i) {
    GilCounts& counts = per_gil_[snapshot.gils[i].interpreter_id];
    counts.held += gil_held[i] ? 1 : 0;
    counts.contended += gil_waiters[i] > 0 ? 1 : 0;
    counts.waiters += gil_waiters[i];
  }
  if (holder != nullptr) {
    ++held_samples_;
    if (holder->state == ThreadState::kHoldingGilInNative) ++held_in_native_;
  }
  if (waiters > 0) ++contended_samples_;
  waiter_total_ += waiters;

  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (!thread.is_python) continue;
    ThreadShare& share = threads_[thread.native_id];
    share.native_id = thread.native_id;
    // Python's name appears once the thread registers with threading; prefer it from then on.
    if (!thread.name.empty()) {
      share.name = thread.name;
    } else if (share.name.empty()) {
      share.name = thread.os_name;
    }
    if (WaitsForIo(thread)) ++share.in_io;
    ++share.samples;
    switch (thread.state) {
      case ThreadState::kHoldingGil: ++share.held; break;
      case ThreadState::kHoldingGilInNative:
        ++share.held;
        ++share.held_in_native;
        break;
      case ThreadState::kWaitingForGil: ++share.waiting; break;
      case ThreadState::kRunningWithoutGil: ++share.running; break;
      default: ++share.idle; break;
    }
    const bool idle = thread.state == ThreadState::kIdle || thread.state == ThreadState::kUnknown;
    if (idle && !keep_idle_in_wall_) continue;
    const StackId stack = Intern(thread);
    Add(ProfileMode::kWall, stack, thread.state, 1);
    if (OnCpu(thread)) Add(ProfileMode::kCpu, stack, thread.state, 1);
    if (thread.state == ThreadState::kWaitingForGil) Add(ProfileMode::kWait, stack, thread.state, 1);
    if (HoldsGil(thread.state) && (&thread == holder || snapshot.gils.size() > 1)) {
      Add(ProfileMode::kGil, stack, thread.state, 1);
      const bool indexed = thread.gil_index >= 0 && static_cast<size_t>(thread.gil_index) < gil_waiters.size();
      const int blamed = indexed ? gil_waiters[static_cast<size_t>(thread.gil_index)] : waiters;
      if (blamed > 0) Add(ProfileMode::kBlame, stack, thread.state, blamed);
    }
  }
}

GilFigures Profile::Figures() const {
  GilFigures figures;
  figures.samples = samples_;
  figures.errors = errors_;
  if (first_at_ && last_at_) figures.duration_s = absl::ToDoubleSeconds(*last_at_ - *first_at_);
  if (samples_ > 0) {
    const double n = static_cast<double>(samples_);
    figures.gil_held = held_samples_ / n;
    figures.contention = contended_samples_ / n;
    figures.mean_waiters = waiter_total_ / n;
  }
  if (samples_ > 0) figures.gil_disabled = static_cast<double>(gil_disabled_samples_) / samples_;
  if (held_samples_ > 0) figures.held_in_native = static_cast<double>(held_in_native_) / held_samples_;
  if (first_switch_ && last_switch_ && *last_switch_at_ > *first_switch_at_) {
    const double seconds = absl::ToDoubleSeconds(*last_switch_at_ - *first_switch_at_);
    const double switches = static_cast<double>(*last_switch_ - *first_switch_);
    figures.switches_per_s = switches / seconds;
    if (switches > 0) figures.mean_hold_ms = figures.gil_held * seconds * 1000.0 / switches;
  }
  return figures;
}

std::vector<PerGilFigures> Profile::PerGil() const {
  std::vector<PerGilFigures> result;
  if (samples_ == 0) return result;
  const double n = static_cast<double>(samples_);
  for (const auto& [interpreter_id, counts] : per_gil_) {
    result.push_back({interpreter_id, counts.held / n, counts.contended / n, counts.waiters / n});
  }
  return result;
}

std::vector<ThreadShare> Profile::Threads() const {
  std::vector<ThreadShare> threads;
  for (const auto& [id, share] : threads_) threads.push_back(share);
  return threads;
}

Verdict Profile::ComputeVerdict() const {
  int64_t held = 0, waiting = 0, running = 0, idle = 0, in_io = 0;
  for (const auto& [id, share] : threads_) {
    held += share.held;
    waiting += share.waiting;
    running += share.running;
    idle += share.idle;
    in_io += share.in_io;
  }
  const int64_t total = held + waiting + running + idle;
  const int64_t busy = held + waiting + running;
  if (total == 0) return Verdict::kIdle;
  if (static_cast<double>(busy) / total < kBusyShareForAnyVerdict) {
    return in_io > 0 ? Verdict::kIoBound : Verdict::kIdle;
  }
  const GilFigures figures = Figures();
  if (figures.gil_disabled >= 0.5) return Verdict::kNoGil;
  if (figures.contention >= kContentionThatMatters) {
    return figures.held_in_native >= kNativeHoldingShare ? Verdict::kNativeHoldsGil
                                                         : Verdict::kPythonCpuBound;
  }
  if (running >= held && running >= idle) return Verdict::kNativeReleasesGil;
  if (idle > busy) return Verdict::kIoBound;
  return held >= running ? Verdict::kPythonCpuBound : Verdict::kNativeReleasesGil;
}

}  // namespace gilscope
