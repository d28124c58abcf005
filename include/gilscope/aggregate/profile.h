// A recording's aggregate: weighted stacks for each view (gil, wait, blame, wall, cpu), GIL
// figures, per-thread time shares, and the verdict of the classic decision table.
#ifndef GILSCOPE_AGGREGATE_PROFILE_H_
#define GILSCOPE_AGGREGATE_PROFILE_H_

#include <sys/types.h>

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gilscope/aggregate/stack_table.h"
#include "gilscope/aggregate/timeline.h"
#include "gilscope/aggregate/without_gil.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope {

enum class ProfileMode { kGil, kWait, kBlame, kWall, kCpu };
inline constexpr std::array<ProfileMode, 5> kAllModes = {ProfileMode::kBlame, ProfileMode::kWait,
                                                         ProfileMode::kGil, ProfileMode::kWall,
                                                         ProfileMode::kCpu};
const char* ProfileModeName(ProfileMode mode);
std::optional<ProfileMode> ParseProfileMode(absl::string_view name);

// A stack, the state its thread was in (used by wall and cpu views) and the interpreter it
// ran in (used when stacks are split by interpreter).
struct WeightedStackKey {
  StackId stack;
  ThreadState state;
  int64_t interpreter_id = -1;
  bool operator==(const WeightedStackKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const WeightedStackKey& key) {
    return H::combine(std::move(h), key.stack, key.state, key.interpreter_id);
  }
};
using StackWeights = absl::flat_hash_map<WeightedStackKey, int64_t>;

struct ThreadShare {
  pid_t native_id = 0;
  std::string name;
  bool python_name = false;  // `name` is threading's; else the OS's (/proc comm) or empty
  // The function of the outermost Python frame it was seen in most (where it was started, as
  // "serve_forever"); empty when it showed no Python frame. Untrusted, as `name`.
  std::string root_function;
  int64_t interpreter_id = -1;  // the interpreter it was seen in most (-1: unknown)
  int64_t samples = 0;
  int64_t held = 0, waiting = 0, running = 0, idle = 0;
  // Runnable without the GIL where nothing could tell waiting for it from running native code
  // (or the OS said nothing of the thread): counted apart, never as another state.
  int64_t unknown = 0;
  int64_t held_in_native = 0;  // of `held`: holding the GIL in native code
  int64_t in_io = 0;  // of `idle`: blocked in I/O (read, recv, poll...), not asleep or on a lock

  // Adds `other`'s counts (not its id, name or interpreter): threads folded or grouped.
  void AddCounts(const ThreadShare& other) {
    samples += other.samples;
    held += other.held;
    waiting += other.waiting;
    running += other.running;
    idle += other.idle;
    unknown += other.unknown;
    held_in_native += other.held_in_native;
    in_io += other.in_io;
  }
};

enum class Verdict {
  kIoBound,
  kNativeReleasesGil,
  kPythonCpuBound,
  kNativeHoldsGil,
  kIdle,
  kNoGil
};
const char* VerdictName(Verdict verdict);    // "io_bound", ...
const char* VerdictAdvice(Verdict verdict);  // one sentence of what to do

// The verdict and the figures that decided it, in words: "GIL contended in 79% of samples
// (>= 20%); holder in native code in 85% of them (>= 50%)". The rule is Profile::Decide's.
struct VerdictDecision {
  Verdict verdict = Verdict::kIdle;
  std::string reason;
  // What to do: VerdictAdvice(verdict), except where the figures change it: CPU-bound code
  // (Python or native holding the GIL) that nobody queues behind, as in a pool worker that
  // runs alone, is not told to move to processes.
  const char* advice = "";
};

// The recording's GIL figures. With several GILs (subinterpreters with their own, 3.12+) a
// sample counts as held or contended when any GIL is; per-GIL figures are in PerGilFigures.
struct GilFigures {
  int64_t samples = 0;
  int64_t errors = 0;
  double duration_s = 0;
  double gil_held = 0;        // share of samples with a holder
  double contention = 0;      // share of samples with at least one waiter
  double mean_waiters = 0;    // waiting threads per sample, all GILs together
  double held_in_native = 0;  // share of held GIL-samples whose holder sat in native code
  std::optional<double> switches_per_s;  // all GILs' hand-offs, from CPython's switch counters
  std::optional<double> mean_hold_ms;    // held time over hand-offs, all GILs together
  // Share of Python thread-samples whose state could not be told (ThreadShare::unknown).
  double unknown = 0;
  double gil_disabled = 0;  // share of samples in which a free-threaded build ran without a GIL
  bool gil_never_enabled = false;  // every sample: the GIL was off (its views are empty)
};

// One GIL's figures (subinterpreters with their own GIL have one each). Shares are of the
// samples in which the GIL existed.
struct PerGilFigures {
  int64_t interpreter_id = 0;  // its first user: the lowest id of the interpreters using it
  std::vector<int64_t> interpreter_ids;  // every interpreter seen using it, by id
  int64_t samples = 0;
  double held = 0;        // share of samples with a holder
  double contention = 0;  // share of samples with a waiter
  double mean_waiters = 0;
  double held_in_native = 0;  // share of held samples whose holder sat in native code
  std::optional<double> switches_per_s;
  std::optional<double> mean_hold_ms;
  ParallelismTally parallelism;  // its threads, for EstimateWithoutGil
};

// Threads tallied one by one; beyond this, those seen longest ago are combined into one row.
inline constexpr size_t kMaxThreadsKept = 4096;

class Profile {
 public:
  explicit Profile(bool keep_idle_in_wall = false) : keep_idle_in_wall_(keep_idle_in_wall) {}

  // `snapshot`'s GIL roles are settled (FillGilRoles), as SnapshotTaker::Take makes them.
  void AddSample(const Snapshot& snapshot, absl::Time at);
  void AddError() { ++errors_; }

  const StackWeights& weights(ProfileMode mode) const {
    return weights_[static_cast<size_t>(mode)];
  }
  const StackTable& stacks() const { return stacks_; }
  // The recording over time; its stacks are ids in stacks().
  const Timeline& timeline() const { return timeline_; }
  GilFigures Figures() const;
  std::vector<PerGilFigures> PerGil() const;    // by interpreter id; one entry per GIL seen
  std::vector<int64_t> InterpreterIds() const;  // every interpreter seen, by id
  // By OS id; threads folded away (see kMaxThreadsKept) last, as one with native_id 0.
  std::vector<ThreadShare> Threads() const;
  // The classic table, over thread-samples (held, waiting, running without the GIL, idle;
  // those in an unknown state left out) and the GIL figures, in this order:
  //   1. threads busy (held + waiting + running) in < 2% of thread-samples: io_bound when any
  //      thread waited in I/O, else idle;
  //   2. the GIL off in >= half of the samples (free-threaded): no_gil;
  //   3. contended in >= 20% of samples: native_holds_gil when the holder sat in native code in
  //      >= half of the contended samples that had a holder, else python_cpu_bound;
  //   4. running without the GIL at least as often as holding it and as being idle:
  //      native_releases_gil;
  //   5. idle more than busy: io_bound;
  //   6. else (held the most, little contention): native_holds_gil when the holder sat in
  //      native code in >= half of the held samples, else python_cpu_bound.
  // Rules 3 and 6 judge native code the same way, so a contention near the threshold does not
  // turn a native holder into Python work.
  VerdictDecision Decide() const;
  Verdict ComputeVerdict() const { return Decide().verdict; }
  // Every Python thread's wanting a CPU against having one, sample by sample (without_gil.h).
  const ParallelismTally& parallelism() const { return parallelism_; }

 private:
  // One GIL's tallies over the recording.
  struct GilCounts {
    std::set<int64_t> users;  // interpreter ids
    int64_t samples = 0, held = 0, held_in_native = 0, waiters = 0;
    // With a waiter; of those, with a holder; and with a holder in native code.
    int64_t contended = 0, contended_held = 0, contended_in_native = 0;
    std::optional<uint64_t> first_switch, last_switch;
    absl::Time first_switch_at, last_switch_at;
    ParallelismTally parallelism;  // its threads
    // Seconds between the first and last switch count read, and the hand-offs in between.
    double SwitchWindow() const;
    double Switches() const;
  };

  // The thread's stack, and in `root` its outermost Python frame (none without one).
  StackId Intern(const ThreadSnapshot& thread, std::optional<FrameId>& root);
  // Each thread's stack at the last sample it was in, with its frames' ids: a thread's stack
  // mostly repeats, or changes only near its leaf, and the sampler hands the same frames
  // again (shared texts), so comparing by identity spares hashing every frame every sample.
  struct LastStack {
    std::vector<Frame> frames;  // innermost first, as the thread's
    std::vector<FrameId> ids;   // root first
    StackId stack = 0;
    std::optional<FrameId> root;  // its outermost Python frame
    int64_t seen = 0;             // the sample it was last used in
  };
  void ForgetLastStacks(size_t live_threads);
  struct ParallelismCount;
  void Add(ProfileMode mode, StackId stack, const ThreadSnapshot& thread, int64_t weight);

  bool keep_idle_in_wall_;
  StackTable stacks_;
  absl::flat_hash_map<pid_t, LastStack> last_stacks_;
  Timeline timeline_;
  std::array<StackWeights, kAllModes.size()> weights_;
  // What one OS thread did over the recording.
  struct ThreadTally {
    ThreadShare share;
    std::map<int64_t, int64_t> interpreters;  // samples per interpreter id
    std::map<FrameId, int64_t> roots;         // samples per outermost Python frame
    int64_t last_seen = 0;                    // the sample it was last in
  };
  // Folds the threads seen longest ago into ended_threads_ once more than kMaxThreadsKept
  // are tallied: a target that starts threads all the time must not grow gilscope forever.
  void FoldEndedThreads();

  std::map<pid_t, ThreadTally> threads_;
  ThreadShare ended_threads_;  // the folded threads' counts, summed (no id or name)
  int64_t ended_thread_count_ = 0;
  size_t fold_above_ = kMaxThreadsKept;  // FoldEndedThreads works only above this many
  int64_t samples_ = 0, errors_ = 0, held_samples_ = 0, contended_samples_ = 0;
  int64_t waiter_total_ = 0, gil_disabled_samples_ = 0;
  std::map<int64_t, GilCounts> per_gil_;  // by the interpreter id of the GIL's first user
  ParallelismTally parallelism_;
  std::optional<absl::Time> first_at_, last_at_;
};

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_PROFILE_H_
