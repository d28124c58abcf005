// The end-of-recording report on stderr: GIL figures, per-thread shares, the heaviest blame and
// waiting sites, and the verdict. Short enough to read at a glance (about 25 lines); the JSON
// summary carries the same figures in full.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/aggregate/thread_groups.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/free_threaded_gil_text.h"
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
    std::string line = "  sampling fell behind:";
    if (info.late_samples > 0)
      absl::StrAppend(&line, absl::StrFormat(" %d samples late", info.late_samples));
    if (info.missed_samples > 0) {
      absl::StrAppend(
          &line, info.late_samples > 0 ? "," : "",
          absl::StrFormat(" %d of %d scheduled samples were skipped; a sample of this target "
                          "costs more than 1/%g s (try a lower --rate or --nonblocking)",
                          info.missed_samples, info.scheduled_samples, info.rate_hz));
    }
    out << line << "\n";
  }
  if (!info.end_reason.empty()) out << "  stopped: " << TerminalSafe(info.end_reason) << "\n";
  if (!info.paused) out << "  not paused: threads ran while read, so a sample may be torn\n";
}

// "hand-offs 201.3/s, mean hold 4.93 ms", or empty where the version keeps no switch counter.
std::string HandOffs(const std::optional<double>& per_s,
                     const std::optional<double>& mean_hold_ms) {
  if (!per_s) return "";
  std::string text = absl::StrFormat("hand-offs %.1f/s", *per_s);
  if (mean_hold_ms) absl::StrAppend(&text, absl::StrFormat(", mean hold %.2f ms", *mean_hold_ms));
  return text;
}

void WriteGilFigures(const GilFigures& figures, std::ostream& out) {
  if (figures.gil_never_enabled) {
    out << "No GIL: free-threaded build running without it (threads run Python in parallel)\n";
    return;
  }
  if (figures.gil_disabled > 0) {
    out << absl::StrFormat("No GIL in %.1f%% of samples: free-threaded build running without it\n",
                           100 * figures.gil_disabled);
  }
  out << absl::StrFormat(
      "GIL held in %.1f%% of samples; contended in %.1f%% (mean %.2f threads waiting)\n",
      100 * figures.gil_held, 100 * figures.contention, figures.mean_waiters);
  if (figures.held_in_native > 0) {
    out << absl::StrFormat(
        "  holder in native code (a C call or a system call) in %.1f%% of held samples\n",
        100 * figures.held_in_native);
  }
  if (figures.unknown > 0) {
    out << absl::StrFormat(
        "State unknown in %.1f%% of thread-samples (runnable without the GIL: waiting for it or "
        "in native code, which this read could not tell)\n",
        100 * figures.unknown);
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

// One line per GIL, naming the interpreters that use it: several interpreters (3.12+) share
// the main one's GIL (legacy subinterpreters) or have their own (isolated ones).
void WritePerGil(const std::vector<PerGilFigures>& gils, std::ostream& out) {
  out << "Per GIL (shares of the samples in which it existed):\n";
  for (const PerGilFigures& gil : gils) {
    std::string users;
    for (int64_t id : gil.interpreter_ids) {
      if (id != gil.interpreter_id) absl::StrAppend(&users, users.empty() ? "" : ", ", id);
    }
    std::string line = absl::StrFormat("  GIL of interpreter %d", gil.interpreter_id);
    if (!users.empty()) absl::StrAppend(&line, " (shared with ", users, ")");
    absl::StrAppend(&line, absl::StrFormat(": held %.1f%%, contended %.1f%% (mean %.2f waiting)",
                                           100 * gil.held, 100 * gil.contention, gil.mean_waiters));
    if (gil.held_in_native > 0) {
      absl::StrAppend(&line,
                      absl::StrFormat(", holder in native code %.1f%%", 100 * gil.held_in_native));
    }
    const std::string hand_offs = HandOffs(gil.switches_per_s, gil.mean_hold_ms);
    if (!hand_offs.empty()) absl::StrAppend(&line, ", ", hand_offs);
    out << line << "\n";
  }
}

// "×37" right-aligned in `columns`: the "×" is two bytes, one column.
std::string GroupCount(size_t members, size_t columns) {
  const std::string count = absl::StrCat(members);
  return std::string(columns > count.size() + 1 ? columns - count.size() - 1 : 0, ' ') + "\u00d7" +
         count;
}

void WriteThreads(const std::vector<ThreadShare>& all, bool by_thread, bool show_interpreter,
                  std::ostream& out) {
  std::vector<ThreadRow> rows = GroupThreads(all, by_thread);
  // A group sorts by its lowest thread id, as a thread by its own.
  const auto order_id = [](const ThreadRow& row) {
    return row.is_group() ? row.members.front() : row.share.native_id;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const ThreadRow& a, const ThreadRow& b) {
    return order_id(a) < order_id(b);
  });
  const size_t total = rows.size();
  // The unknown column only when some thread was in no known state: usually none is.
  const bool show_unknown =
      std::any_of(all.begin(), all.end(), [](const ThreadShare& t) { return t.unknown > 0; });
  if (total > kMaxThreadRows) {
    std::vector<ThreadRow> busiest = rows;
    std::stable_sort(busiest.begin(), busiest.end(), [](const ThreadRow& a, const ThreadRow& b) {
      return BusySamples(a.share) > BusySamples(b.share);
    });
    busiest.resize(kMaxThreadRows);
    std::stable_sort(busiest.begin(), busiest.end(), [&](const ThreadRow& a, const ThreadRow& b) {
      return order_id(a) < order_id(b);
    });
    rows = std::move(busiest);
  }
  const bool any_group =
      std::any_of(rows.begin(), rows.end(), [](const ThreadRow& row) { return row.is_group(); });
  out << "\nThreads (% of each thread's samples";
  if (any_group) out << "; \u00d7N: N threads of one name, counters as N, over their samples";
  out << "):\n";
  out << absl::StrFormat("  %8s %s%7s %7s %7s %7s %7s%s  %s\n", "OS id",
                         show_interpreter ? " interp" : "", "held", "in C", "waiting", "no GIL",
                         "idle", show_unknown ? " unknown" : "", "name");
  for (const ThreadRow& row : rows) {
    const ThreadShare& thread = row.share;
    const std::string interpreter = !show_interpreter ? ""
                                    : thread.interpreter_id >= 0
                                        ? absl::StrFormat(" %6d", thread.interpreter_id)
                                        : absl::StrFormat(" %6s", "?");
    const std::string unknown =
        show_unknown ? absl::StrFormat(" %6.1f%%", Percent(thread.unknown, thread.samples)) : "";
    const std::string id = row.is_group()          ? GroupCount(row.members.size(), 8)
                           : thread.native_id != 0 ? absl::StrCat(thread.native_id)
                                                   : "-";
    out << absl::StrFormat(
        "  %8s %s%6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%%%s  %s\n", id, interpreter,
        Percent(thread.held, thread.samples), Percent(thread.held_in_native, thread.samples),
        Percent(thread.waiting, thread.samples), Percent(thread.running, thread.samples),
        Percent(thread.idle, thread.samples), unknown,
        thread.name.empty() ? "(no name)" : TerminalSafe(thread.name));
  }
  if (total > rows.size()) {
    out << absl::StrFormat("  ... and %d more %s\n", total - rows.size(),
                           by_thread ? "threads" : "threads or groups");
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

// After the verdict: what the figures above cannot say.
void WriteNotes(const GilFigures& figures, const RecordingInfo& info, std::ostream& out) {
  if (info.unobserved_switches_per_s && figures.switches_per_s) {
    std::string change = "n/a";
    if (*info.unobserved_switches_per_s > 0) {
      change = absl::StrFormat(
          "%+.0f%%", 100 * (*figures.switches_per_s / *info.unobserved_switches_per_s - 1));
    }
    out << absl::StrFormat(
        "Observer effect: GIL hand-offs %.1f/s while sampled, %.1f/s in %.2f s unobserved "
        "before (%s)\n",
        *figures.switches_per_s, *info.unobserved_switches_per_s,
        absl::ToDoubleSeconds(info.unobserved_window), change);
  }
  const bool gil_view = info.mode == ProfileMode::kGil || info.mode == ProfileMode::kWait ||
                        info.mode == ProfileMode::kBlame;
  if (gil_view && figures.gil_never_enabled) {
    // Not an error: the output is still written, with a title that says why.
    out << absl::StrFormat(
        "gilscope: the GIL was off throughout (free-threaded build running without it): the %s "
        "view is empty; record with --mode cpu or --mode wall\n",
        ProfileModeName(info.mode));
  }
  if (info.paused) {
    out << absl::StrFormat(
        "Target paused %.2f%% of the time (%.0f us per sample)\n",
        100 * absl::ToDoubleSeconds(info.paused_total) /
            std::max(1e-9, absl::ToDoubleSeconds(info.elapsed)),
        absl::ToDoubleMicroseconds(info.paused_total) / static_cast<double>(figures.samples));
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
  // Why a free-threaded build's GIL is on (when off, the figures below say so).
  const FreeThreadedGil::State why = info.free_threaded_gil.state;
  if (info.free_threaded && why != FreeThreadedGil::State::kUnknown &&
      why != FreeThreadedGil::State::kOff) {
    out << "GIL: " << FreeThreadedGilText(info.free_threaded_gil) << "\n";
  }
  WriteGilFigures(figures, out);
  const bool several_interpreters = profile.InterpreterIds().size() > 1;
  if (several_interpreters && !figures.gil_never_enabled) WritePerGil(profile.PerGil(), out);
  WriteThreads(profile.Threads(), info.by_thread, several_interpreters, out);
  WriteSites(
      profile, ProfileMode::kBlame, "Top functions by blame (holding the GIL while others wait)",
      figures.gil_never_enabled ? "none (no GIL)" : "none (no thread ever waited for the GIL)",
      out);
  WriteSites(profile, ProfileMode::kWait, "Top waiting sites",
             figures.gil_never_enabled ? "none (no GIL)" : "none", out);
  const VerdictDecision decision = profile.Decide();
  out << "\nVerdict: " << VerdictName(decision.verdict) << " \u2014 " << decision.advice << "\n";
  out << "  because: " << decision.reason << "\n";
  if (info.cpu_budget) {
    out << "What if: " << TerminalSafe(EstimateWithoutGil(profile, *info.cpu_budget).text) << "\n";
    for (const auto& [interpreter_id, estimate] :
         EstimateWithoutGilPerGil(profile, *info.cpu_budget)) {
      out << absl::StrFormat("  GIL of interpreter %d: %s\n", interpreter_id,
                             TerminalSafe(estimate.text));
    }
  }
  WriteNotes(figures, info, out);
}

}  // namespace gilscope
