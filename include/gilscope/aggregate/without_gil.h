// "Would it be faster without the GIL?": an upper bound on the throughput gain if the GIL
// stopped serialising the target's threads, from what the samples saw and the CPUs the target
// may use. In each sample, threads that want a CPU (holding the GIL, waiting for it, running
// without it) against those that have one (holding it, running without it): without the GIL,
// every thread that wants a CPU could run, as far as CPUs go. The work done goes as the
// threads on a CPU, so the bound is
//     sum over samples of min(wanting, cpus)  /  sum over samples of on_cpu.
// A bound on the gain from parallelism: it assumes the waiting threads' work is as parallel as
// the CPUs allow, and that nothing else (memory bandwidth, locks of the program's own) holds it
// back. The hand-offs' own cost, which samples count as the holder's work, is not in it: on
// 3.14t two spinners did 18% less together than one alone, so the real gain can be larger.
#ifndef GILSCOPE_AGGREGATE_WITHOUT_GIL_H_
#define GILSCOPE_AGGREGATE_WITHOUT_GIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "gilscope/proc/cpu_budget.h"

namespace gilscope {

enum class Verdict;
class Profile;

// Samples counted by how many threads wanted a CPU in them, and the thread-samples on a CPU.
class ParallelismTally {
 public:
  void Add(int wanting, int on_cpu);

  int64_t samples() const { return samples_; }
  // Samples in which at least one thread was on a CPU.
  int64_t samples_on_cpu() const { return samples_on_cpu_; }
  int64_t on_cpu_thread_samples() const { return on_cpu_; }
  int64_t wanting_thread_samples() const { return wanting_; }
  // Thread-samples that could have been on a CPU with `cpus` CPUs and no GIL.
  double RunnableWith(double cpus) const;

 private:
  // Samples by threads wanting a CPU; the last entry counts every sample with more.
  static constexpr size_t kMaxWanting = 1024;
  std::vector<int64_t> by_wanting_;
  int64_t samples_ = 0, samples_on_cpu_ = 0, on_cpu_ = 0, wanting_ = 0;
};

// Fewer samples with a thread on a CPU than this: no estimate.
inline constexpr int64_t kMinSamplesForEstimate = 50;

struct WithoutGilEstimate {
  enum class Kind {
    kNotEnoughSamples,
    kNoGain,              // the GIL is not what holds the threads back (I/O, native code)
    kGain,                // up to `speedup` times faster
    kGilOff,              // a free-threaded build already ran without it
    kNeedsNativeRelease,  // the gain needs the native call holding the GIL to release it
  };
  Kind kind = Kind::kNotEnoughSamples;
  double speedup = 1;        // the upper bound; 1 when there is no gain
  double waiting_share = 0;  // of the thread-samples wanting a CPU, the share waiting
  double mean_wanting = 0;   // threads wanting a CPU, per sample
  CpuBudget budget;
  std::string text;  // the reasoning in one line
};

const char* WithoutGilKindName(WithoutGilEstimate::Kind kind);  // "gain", "no_gain", ...

// The estimate for one GIL's (or one process's) threads. `holding_call`: for native_holds_gil,
// the native function holding the GIL while others waited (from the blame view), untrusted;
// may be empty.
WithoutGilEstimate EstimateWithoutGil(const ParallelismTally& tally, Verdict verdict,
                                      const CpuBudget& budget, absl::string_view holding_call);

// The estimate of a recording: its verdict, its threads' tally, and for native_holds_gil the
// top function of its blame view.
WithoutGilEstimate EstimateWithoutGil(const Profile& profile, const CpuBudget& budget);
// One per GIL (subinterpreters with their own), by the GIL's interpreter id, each from its own
// threads and the recording's verdict; empty with a single GIL.
std::vector<std::pair<int64_t, WithoutGilEstimate>> EstimateWithoutGilPerGil(
    const Profile& profile, const CpuBudget& budget);

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_WITHOUT_GIL_H_
