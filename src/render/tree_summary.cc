// The summary of a recording of a process tree: a line per process, then the verdict of the
// process that matters most.
#include "gilscope/render/tree_summary.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gilscope/proc/process_tree.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {
namespace {

std::string CutCommand(absl::string_view command_line) {
  if (command_line.size() <= kProcessLabelCommand) return std::string(command_line);
  return absl::StrCat(command_line.substr(0, kProcessLabelCommand), "...");
}

}  // namespace

std::string ProcessRootLabel(pid_t pid, absl::string_view command_line) {
  return TerminalSafe(absl::StrFormat("pid %d: %s", pid, CutCommand(command_line)));
}

ProcessWeight WeightOf(const Profile& profile) {
  const GilFigures figures = profile.Figures();
  ProcessWeight weight;
  weight.contended_samples =
      static_cast<int64_t>(figures.contention * static_cast<double>(figures.samples) + 0.5);
  for (const ThreadShare& thread : profile.Threads()) {
    weight.busy_thread_samples += thread.held + thread.waiting + thread.running;
  }
  return weight;
}

size_t MostImportantProcess(absl::Span<const ProcessWeight> weights) {
  size_t best = 0;
  for (size_t i = 1; i < weights.size(); ++i) {
    const ProcessWeight& a = weights[i];
    const ProcessWeight& b = weights[best];
    if (a.contended_samples > b.contended_samples ||
        (a.contended_samples == b.contended_samples &&
         a.busy_thread_samples > b.busy_thread_samples)) {
      best = i;
    }
  }
  return best;
}

void WriteTreeSummaryText(absl::Span<const ProcessResult> processes, size_t left_out,
                          std::ostream& out) {
  if (processes.empty()) return;
  out << absl::StrFormat("gilscope: %d Python processes, %.0f Hz\n", processes.size(),
                         processes[0].info.rate_hz);
  if (left_out > 0) {
    out << absl::StrFormat("  %d more descendants beyond the %d read were not sampled\n", left_out,
                           kMaxTreeProcesses);
  }
  std::vector<ProcessWeight> weights;
  std::vector<Verdict> verdicts;
  for (const ProcessResult& process : processes) {
    const Profile& profile = *process.profile;
    const GilFigures figures = profile.Figures();
    const Verdict verdict = profile.ComputeVerdict();
    weights.push_back(WeightOf(profile));
    verdicts.push_back(verdict);
    std::string hand_offs = "-";
    if (figures.switches_per_s) hand_offs = absl::StrFormat("%.1f/s", *figures.switches_per_s);
    out << absl::StrFormat(
        "  pid %d: %d samples, %d errors, GIL held %.0f%%, contended %.0f%%, mean waiters "
        "%.2f, hand-offs %s, %s  %s\n",
        process.info.pid, figures.samples, figures.errors, 100 * figures.gil_held,
        100 * figures.contention, figures.mean_waiters, hand_offs, VerdictName(verdict),
        TerminalSafe(CutCommand(process.info.command_line)));
    if (!process.info.end_reason.empty()) {
      out << "    stopped: " << TerminalSafe(process.info.end_reason) << "\n";
    }
    if (process.info.cpu_budget) {
      out << "    what if: "
          << TerminalSafe(EstimateWithoutGil(profile, *process.info.cpu_budget).text) << "\n";
    }
  }
  const size_t top = MostImportantProcess(weights);
  std::map<std::string, int> others;  // verdict name -> processes
  for (size_t i = 0; i < verdicts.size(); ++i) {
    if (i != top) ++others[VerdictName(verdicts[i])];
  }
  std::string rest;
  if (!others.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, count] : others) {
      parts.push_back(others.size() == 1 ? name : absl::StrFormat("%d %s", count, name));
    }
    rest = absl::StrFormat("; the other %d process%s: %s", processes.size() - 1,
                           processes.size() == 2 ? "" : "es", absl::StrJoin(parts, ", "));
  }
  const VerdictDecision decision = processes[top].profile->Decide();
  out << absl::StrFormat("\nVerdict: pid %d: %s%s\n", processes[top].info.pid,
                         VerdictName(decision.verdict), rest);
  out << "  pid " << processes[top].info.pid << ": " << decision.advice << "\n";
  out << "  because: " << decision.reason << "\n";
}

}  // namespace gilscope
