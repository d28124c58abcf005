// A recording's aggregate: weighted stacks for each view (gil, wait, blame, wall, cpu), GIL
// figures, per-thread time shares, and the verdict of the classic decision table.
#ifndef GILSCOPE_AGGREGATE_PROFILE_H_
#define GILSCOPE_AGGREGATE_PROFILE_H_

#include <sys/types.h>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gilscope/aggregate/stack_table.h"
#include "gilscope/sampler/snapshot.h"

namespace gilscope {

enum class ProfileMode { kGil, kWait, kBlame, kWall, kCpu };
inline constexpr std::array<ProfileMode, 5> kAllModes = {ProfileMode::kBlame, ProfileMode::kWait,
                                                         ProfileMode::kGil, ProfileMode::kWall,
                                                         ProfileMode::kCpu};
const char* ProfileModeName(ProfileMode mode);
std::optional<ProfileMode> ParseProfileMode(absl::string_view name);

// A stack and, in wall and cpu views, the state its thread was in.
struct WeightedStackKey {
  StackId stack;
  ThreadState state;
  bool operator==(const WeightedStackKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const WeightedStackKey& key) {
    return H::combine(std::move(h), key.stack, key.state);
  }
};
using StackWeights = absl::flat_hash_map<WeightedStackKey, int64_t>;

struct ThreadShare {
  pid_t native_id = 0;
  std::string name;
  int64_t samples = 0;
  int64_t held = 0, waiting = 0, running = 0, idle = 0;
  int64_t held_in_native = 0;  // of `held`: holding the GIL in native code
  int64_t in_io = 0;  // of `idle`: blocked in I/O (read, recv, poll...), not asleep or on a lock
};

enum class Verdict { kIoBound, kNativeReleasesGil, kPythonCpuBound, kNativeHoldsGil, kIdle, kNoGil };
const char* VerdictName(Verdict verdict);    // "io_bound", ...
const char* VerdictAdvice(Verdict verdict);  // one sentence of what to do

struct GilFigures {
  int64_t samples = 0;
  int64_t errors = 0;
  double duration_s = 0;
  double gil_held = 0;      // share of samples with a holder
  double contention = 0;    // share of samples with at least one waiter
  double mean_waiters = 0;
  double held_in_native = 0;  // share of held samples whose holder sat in native code
  std::optional<double> switches_per_s;  // from CPython's switch counter, where it exists
  std::optional<double> mean_hold_ms;
  double gil_disabled = 0;  // share of samples in which a free-threaded build ran without a GIL
};

// One GIL's figures, where a process has several (subinterpreters with their own GIL, 3.12+).
struct PerGilFigures {
  int64_t interpreter_id = 0;  // the first interpreter using it
  double held = 0;             // share of samples with a holder
  double contention = 0;       // share of samples with a waiter
  double mean_waiters = 0;
};

class Profile {
 public:
  explicit Profile(bool keep_idle_in_wall = false) : keep_idle_in_wall_(keep_idle_in_wall) {}

  void AddSample(const Snapshot& snapshot, absl::Time at);
  void AddError() { ++errors_; }

  const StackWeights& weights(ProfileMode mode) const { return weights_[static_cast<size_t>(mode)]; }
  const StackTable& stacks() const { return stacks_; }
  GilFigures Figures() const;
  std::vector<PerGilFigures> PerGil() const;  // by interpreter id; one entry per GIL seen
  std::vector<ThreadShare> Threads() const;  // by OS id
  Verdict ComputeVerdict() const;

 private:
  StackId Intern(const ThreadSnapshot& thread);
  void Add(ProfileMode mode, StackId stack, ThreadState state, int64_t weight);

  bool keep_idle_in_wall_;
  StackTable stacks_;
  std::array<StackWeights, kAllModes.size()> weights_;
  std::map<pid_t, ThreadShare> threads_;
  int64_t samples_ = 0, errors_ = 0, held_samples_ = 0, contended_samples_ = 0;
  int64_t waiter_total_ = 0, held_in_native_ = 0, gil_disabled_samples_ = 0;
  struct GilCounts {
    int64_t held = 0, contended = 0, waiters = 0;
  };
  std::map<int64_t, GilCounts> per_gil_;  // by the interpreter id of the GIL's first user
  std::optional<absl::Time> first_at_, last_at_;
  std::optional<uint64_t> first_switch_, last_switch_;
  std::optional<absl::Time> first_switch_at_, last_switch_at_;
};

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_PROFILE_H_
