#include "gilscope/aggregate/without_gil.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/aggregate/views.h"

namespace gilscope {
namespace {

// Below this bound the gain is noise: said as none.
constexpr double kLeastGain = 1.05;

std::string Threads(double count) {
  return absl::StrFormat("%.1f thread%s", count, count < 1.05 ? "" : "s");
}

std::string Cpus(const CpuBudget& budget) {
  return absl::StrFormat("%g CPU%s available (%s)", budget.cpus, budget.cpus == 1 ? "" : "s",
                         budget.source);
}

}  // namespace

void ParallelismTally::Add(int wanting, int on_cpu) {
  const size_t index = std::min(static_cast<size_t>(std::max(wanting, 0)), kMaxWanting);
  if (by_wanting_.size() <= index) by_wanting_.resize(index + 1);
  ++by_wanting_[index];
  ++samples_;
  if (on_cpu > 0) ++samples_on_cpu_;
  on_cpu_ += on_cpu;
  wanting_ += wanting;
}

double ParallelismTally::RunnableWith(double cpus) const {
  double runnable = 0;
  for (size_t wanting = 0; wanting < by_wanting_.size(); ++wanting) {
    runnable +=
        static_cast<double>(by_wanting_[wanting]) * std::min(static_cast<double>(wanting), cpus);
  }
  return runnable;
}

const char* WithoutGilKindName(WithoutGilEstimate::Kind kind) {
  switch (kind) {
    case WithoutGilEstimate::Kind::kNotEnoughSamples:
      return "not_enough_samples";
    case WithoutGilEstimate::Kind::kNoGain:
      return "no_gain";
    case WithoutGilEstimate::Kind::kGain:
      return "gain";
    case WithoutGilEstimate::Kind::kGilOff:
      return "gil_off";
    case WithoutGilEstimate::Kind::kNeedsNativeRelease:
      return "needs_native_release";
  }
  return "?";
}

WithoutGilEstimate EstimateWithoutGil(const ParallelismTally& tally, Verdict verdict,
                                      const CpuBudget& budget, absl::string_view holding_call) {
  using Kind = WithoutGilEstimate::Kind;
  WithoutGilEstimate estimate;
  estimate.budget = budget;
  if (tally.samples() > 0) {
    estimate.mean_wanting =
        static_cast<double>(tally.wanting_thread_samples()) / static_cast<double>(tally.samples());
  }
  if (tally.wanting_thread_samples() > 0) {
    estimate.waiting_share =
        static_cast<double>(tally.wanting_thread_samples() - tally.on_cpu_thread_samples()) /
        static_cast<double>(tally.wanting_thread_samples());
  }
  const auto no_gain = [&](std::string why) {
    estimate.kind = Kind::kNoGain;
    estimate.speedup = 1;
    estimate.text = absl::StrCat("no faster without the GIL: ", why);
    return estimate;
  };
  switch (verdict) {
    case Verdict::kNoGil:
      estimate.kind = Kind::kGilOff;
      estimate.text = "the GIL was already off (a free-threaded build running without it)";
      return estimate;
    case Verdict::kIdle:
      return no_gain("the program was idle");
    case Verdict::kIoBound:
      return no_gain("the threads wait on I/O, sleep or locks, not on the GIL (io_bound)");
    case Verdict::kNativeReleasesGil:
      return no_gain(
          "the time goes to native code that already runs without the GIL "
          "(native_releases_gil)");
    case Verdict::kPythonCpuBound:
    case Verdict::kNativeHoldsGil:
      break;
  }
  if (tally.samples_on_cpu() < kMinSamplesForEstimate) {
    estimate.kind = Kind::kNotEnoughSamples;
    estimate.text = absl::StrFormat(
        "not enough samples to estimate a gain without the GIL (%d with a thread "
        "on a CPU, %d needed)",
        tally.samples_on_cpu(), kMinSamplesForEstimate);
    return estimate;
  }
  const double on_cpu = static_cast<double>(tally.on_cpu_thread_samples());
  const double speedup = tally.RunnableWith(budget.cpus) / on_cpu;
  const std::string wanting =
      absl::StrFormat("%s want a CPU on average and wait for the GIL in %.0f%% of that time; %s",
                      Threads(estimate.mean_wanting), 100 * estimate.waiting_share, Cpus(budget));
  if (speedup < kLeastGain) return no_gain(wanting);
  estimate.speedup = speedup;
  if (verdict == Verdict::kNativeHoldsGil) {
    estimate.kind = Kind::kNeedsNativeRelease;
    const std::string call =
        holding_call.empty() ? "the native call holding it" : absl::StrCat(holding_call);
    estimate.text = absl::StrFormat(
        "up to %.2f\u00d7 faster, but only once %s stops holding the GIL: here its extension "
        "must release it around the call; a free-threaded build runs it in parallel only if the "
        "extension declares free-threading support (else importing it turns the GIL back on): %s",
        speedup, call, wanting);
    return estimate;
  }
  estimate.kind = Kind::kGain;
  estimate.text = absl::StrFormat("up to %.2f\u00d7 faster without the GIL: %s", speedup, wanting);
  return estimate;
}

namespace {

std::string HoldingCall(const Profile& profile, Verdict verdict) {
  if (verdict != Verdict::kNativeHoldsGil) return "";
  const std::vector<SiteWeight> top = TopLeafFrames(profile, ProfileMode::kBlame, 1);
  if (top.empty()) return "";
  const Frame& frame = profile.stacks().frame(top.front().frame);
  // Without --native the blamed leaf is the Python function making the call.
  return frame.kind == FrameKind::kNative
             ? frame.function.str()
             : absl::StrCat("the native call in ", frame.function.str());
}

}  // namespace

WithoutGilEstimate EstimateWithoutGil(const Profile& profile, const CpuBudget& budget) {
  const Verdict verdict = profile.ComputeVerdict();
  return EstimateWithoutGil(profile.parallelism(), verdict, budget, HoldingCall(profile, verdict));
}

std::vector<std::pair<int64_t, WithoutGilEstimate>> EstimateWithoutGilPerGil(
    const Profile& profile, const CpuBudget& budget) {
  std::vector<std::pair<int64_t, WithoutGilEstimate>> estimates;
  const std::vector<PerGilFigures> gils = profile.PerGil();
  if (gils.size() < 2) return estimates;
  const Verdict verdict = profile.ComputeVerdict();
  const std::string call = HoldingCall(profile, verdict);
  for (const PerGilFigures& gil : gils) {
    estimates.emplace_back(gil.interpreter_id,
                           EstimateWithoutGil(gil.parallelism, verdict, budget, call));
  }
  return estimates;
}

}  // namespace gilscope
