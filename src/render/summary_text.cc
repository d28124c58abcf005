// The end-of-recording report on stderr: GIL figures, per-thread shares, the heaviest blame and
// waiting sites, and the verdict. Short enough to read at a glance (about 25 lines); the JSON
// summary carries the same figures in full.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {
namespace {

constexpr size_t kTopSites = 5;
constexpr size_t kMaxThreadRows = 12;  // the busiest; all of them are in the JSON summary

double Percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void WriteHeader(const GilFigures& figures, const RecordingInfo& info, std::ostream& out) {
  std::string version;
  if (!info.python_version.empty())
    version = absl::StrCat(" (Python ", TerminalSafe(info.python_version), ")");
  out << absl::StrFormat("gilscope: pid %d%s, %.1f s, %d samples at %g Hz, %d errors\n", info.pid,
                         version, figures.duration_s, figures.samples, info.rate_hz,
                         figures.errors);
  if (info.late_samples > 0 || info.missed_samples > 0) {
    out << absl::StrFormat("  sampling fell behind: %d samples late, %d skipped\n",
                           info.late_samples, info.missed_samples);
  }
  if (!info.end_reason.empty()) out << "  stopped: " << TerminalSafe(info.end_reason) << "\n";
  if (!info.paused) out << "  not paused: threads ran while read, so a sample may be torn\n";
}

void WriteGilFigures(const GilFigures& figures, std::ostream& out) {
  if (figures.gil_disabled > 0) {
    out << absl::StrFormat("No GIL: a free-threaded build ran without it in %.1f%% of samples\n",
                           100 * figures.gil_disabled);
    if (figures.gil_disabled >= 0.5) return;
  }
  out << absl::StrFormat(
      "GIL held in %.1f%% of samples; contended in %.1f%% (mean %.2f threads waiting)\n",
      100 * figures.gil_held, 100 * figures.contention, figures.mean_waiters);
  if (figures.held_in_native > 0) {
    out << absl::StrFormat("  holder in native code (a C call or a system call) in %.1f%% of held samples\n",
                           100 * figures.held_in_native);
  }
  if (figures.switches_per_s) {
    std::string line = absl::StrFormat("GIL hand-offs: %.1f/s", *figures.switches_per_s);
    if (figures.mean_hold_ms)
      absl::StrAppend(&line, absl::StrFormat(", mean hold %.2f ms", *figures.mean_hold_ms));
    out << line << " (exact, from CPython's switch counter, not sampled)\n";
  } else {
    out << "GIL hand-offs: not available on this Python version\n";
  }
}

void WriteThreads(std::vector<ThreadShare> threads, std::ostream& out) {
  const size_t total = threads.size();
  if (total > kMaxThreadRows) {
    std::stable_sort(threads.begin(), threads.end(),
                     [](const ThreadShare& a, const ThreadShare& b) {
                       return a.held + a.waiting + a.running > b.held + b.waiting + b.running;
                     });
    threads.resize(kMaxThreadRows);
    std::sort(threads.begin(), threads.end(),
              [](const ThreadShare& a, const ThreadShare& b) { return a.native_id < b.native_id; });
  }
  out << "\nThreads (% of each thread's samples):\n";
  out << absl::StrFormat("  %8s %7s %7s %7s %7s %7s  %s\n", "OS id", "held", "in C", "waiting",
                         "no GIL", "idle", "name");
  for (const ThreadShare& thread : threads) {
    out << absl::StrFormat(
        "  %8d %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%%  %s\n", thread.native_id,
        Percent(thread.held, thread.samples), Percent(thread.held_in_native, thread.samples),
        Percent(thread.waiting, thread.samples),
        Percent(thread.running, thread.samples), Percent(thread.idle, thread.samples),
        thread.name.empty() ? "(no name)" : TerminalSafe(thread.name));
  }
  if (total > threads.size()) {
    out << absl::StrFormat("  ... and %d more threads\n", total - threads.size());
  }
}

void WriteSites(const Profile& profile, ProfileMode mode, absl::string_view title,
                absl::string_view when_empty, std::ostream& out) {
  const int64_t total = TotalWeight(ViewStacks(profile, mode));
  const std::vector<SiteWeight> sites = TopLeafFrames(profile, mode, kTopSites);
  out << "\n" << title << ":";
  if (sites.empty()) {
    out << " " << when_empty << "\n";
    return;
  }
  out << "\n";
  for (const SiteWeight& site : sites) {
    out << absl::StrFormat("  %5.1f%%  %s\n", Percent(site.weight, total),
                           TerminalSafe(FrameLabel(profile.stacks().frame(site.frame))));
  }
}

}  // namespace

void WriteSummaryText(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  const GilFigures figures = profile.Figures();
  WriteHeader(figures, info, out);
  if (figures.samples == 0) {
    out << "No samples were taken: there is nothing to report.\n";
    return;
  }
  WriteGilFigures(figures, out);
  const std::vector<PerGilFigures> per_gil = profile.PerGil();
  if (per_gil.size() > 1) {
    for (const PerGilFigures& gil : per_gil) {
      out << absl::StrFormat(
          "  GIL of interpreter %d: held %.1f%%, contended %.1f%% (mean %.2f waiting)\n",
          gil.interpreter_id, 100 * gil.held, 100 * gil.contention, gil.mean_waiters);
    }
  }
  WriteThreads(profile.Threads(), out);
  WriteSites(profile, ProfileMode::kBlame,
             "Top functions by blame (holding the GIL while others wait)",
             "none (no thread ever waited for the GIL)", out);
  WriteSites(profile, ProfileMode::kWait, "Top waiting sites", "none", out);
  const Verdict verdict = profile.ComputeVerdict();
  out << "\nVerdict: " << VerdictName(verdict) << " \u2014 " << VerdictAdvice(verdict) << "\n";
}

}  // namespace gilscope
