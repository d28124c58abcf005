// `gilscope top`'s screen: the header (target, sampling, GIL figures, verdict), a thread table
// with a bar per thread or group over the window (top_threads.cc), and the functions of the chosen
// view with their own and total shares, as py-spy top lists them. Every line is cut to the width;
// sections share the height, the function list taking what the threads leave.
#include "gilscope/render/top_screen.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/free_threaded_gil_text.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/tree_summary.h"
#include "top_text.h"
#include "top_threads.h"

namespace gilscope {
namespace {

using top_text::Columns;
using top_text::Cut;
using top_text::kWideScreen;
using top_text::Line;
using top_text::Percent;
using top_text::SafeLabel;

constexpr int kLegendMinRows = 14;  // fewer rows left for the tables: no legend line
constexpr char kKeysHint[] = "v/1-5 view  s sort  t idle  g group  p pause  r reset  q quit";

// The line cut to `width` columns, empty segments dropped.
ScreenLine FitLine(ScreenLine line, size_t width) {
  ScreenLine out;
  size_t used = 0;
  for (ScreenSegment& segment : line) {
    if (used >= width) break;
    const size_t columns = Columns(segment.text);
    if (columns == 0) continue;
    if (used + columns > width) segment.text = Cut(segment.text, width - used);
    used += std::min(columns, width - used);
    out.push_back(std::move(segment));
  }
  return out;
}

const char* ViewMeaning(ProfileMode mode) {
  switch (mode) {
    case ProfileMode::kBlame:
      return "what the holder ran while others waited";
    case ProfileMode::kWait:
      return "where threads queue for the GIL";
    case ProfileMode::kGil:
      return "what ran holding the GIL";
    case ProfileMode::kWall:
      return "where threads spend their time, in any state";
    case ProfileMode::kCpu:
      return "what ran on a CPU, with or without the GIL";
  }
  return "";
}

// Figures joined by two spaces, those that would not fit in `width` left out whole rather than
// cut in the middle of a number.
std::string JoinFitting(const std::vector<std::string>& figures, size_t width) {
  std::string text;
  for (const std::string& figure : figures) {
    const size_t gap = text.empty() ? 0 : 2;
    if (!text.empty() && Columns(text) + gap + Columns(figure) > width) continue;
    absl::StrAppend(&text, gap > 0 ? "  " : "", figure);
  }
  return text;
}

// "held 99%", "contention 98%", ... of the whole GIL or of one of several.
std::vector<std::string> GilFigureTexts(double held, double contention, double mean_waiters,
                                        double held_in_native, const std::optional<double>& per_s,
                                        const std::optional<double>& hold_ms) {
  std::vector<std::string> texts = {absl::StrFormat("held %.0f%%", 100 * held),
                                    absl::StrFormat("contention %.0f%%", 100 * contention),
                                    absl::StrFormat("mean waiters %.2f", mean_waiters)};
  if (held_in_native > 0)
    texts.push_back(absl::StrFormat("in native %.0f%%", 100 * held_in_native));
  // Only where the version keeps a switch counter.
  if (per_s) texts.push_back(absl::StrFormat("hand-offs %.0f/s", *per_s));
  if (per_s && hold_ms) texts.push_back(absl::StrFormat("mean hold %.1f ms", *hold_ms));
  return texts;
}

std::vector<ScreenLine> HeaderLines(const Profile& window, const GilFigures& figures,
                                    const TopInfo& info, const TopControls& controls,
                                    size_t width) {
  std::vector<ScreenLine> lines;
  const bool tree = !info.processes.empty();
  std::string title = absl::StrCat("gilscope top \u2014 pid ", info.pid);
  if (tree) {
    absl::StrAppend(&title, " and its tree: ", info.processes.size(), " Python process",
                    info.processes.size() == 1 ? "" : "es");
  } else if (!info.python_version.empty()) {
    absl::StrAppend(&title, " (Python ", TerminalSafe(info.python_version), ")");
  }
  const std::string marker = controls.frozen ? " [paused display]" : "";
  // The command line, then the title, give way to the marker, which must stay visible.
  const size_t marker_columns = Columns(marker);
  title = Cut(title, width > marker_columns ? width - marker_columns : 0);
  const size_t room =
      width > Columns(title) + marker_columns + 2 ? width - Columns(title) - marker_columns - 2 : 0;
  ScreenLine first = {{title, TopStyle::kBold}};
  if (room > 0 && !info.command_line.empty())
    first.push_back({absl::StrCat(": ", Cut(TerminalSafe(info.command_line), room))});
  first.push_back({marker, TopStyle::kWarning});
  lines.push_back(std::move(first));

  std::string rate = absl::StrFormat("rate %.0f/%g Hz, window %g s", info.rate_achieved_hz,
                                     info.rate_asked_hz, info.window_s);
  if (figures.samples > 0 && figures.duration_s < info.window_s - 0.05)
    absl::StrAppend(&rate, absl::StrFormat(" (%.1f s so far)", figures.duration_s));
  absl::StrAppend(&rate, absl::StrFormat(", %d samples", figures.samples));
  if (figures.errors > 0) absl::StrAppend(&rate, absl::StrFormat(", %d errors", figures.errors));
  lines.push_back(Line(rate));
  if (!info.paused_target)
    lines.back().push_back({", not paused: samples may be torn", TopStyle::kDim});
  if (figures.samples == 0) return lines;
  if (tree) {
    // The process that matters most speaks for the tree; each has its line (ProcessLines).
    std::vector<ProcessWeight> weights;
    for (const TopProcess& process : info.processes) weights.push_back(WeightOf(*process.window));
    const TopProcess& top = info.processes[MostImportantProcess(weights)];
    const VerdictDecision decision = top.window->Decide();
    lines.push_back({{absl::StrFormat("verdict so far: pid %d: ", top.pid)},
                     {VerdictName(decision.verdict), TopStyle::kBold},
                     {absl::StrCat(" (", decision.reason, ")"), TopStyle::kDim}});
    return lines;
  }

  // Why a free-threaded build's GIL is on (when off, the line below says so).
  const FreeThreadedGil::State why = info.free_threaded_gil.state;
  if (info.free_threaded && why != FreeThreadedGil::State::kUnknown &&
      why != FreeThreadedGil::State::kOff) {
    lines.push_back(
        Line(Cut(absl::StrCat("GIL: ", FreeThreadedGilText(info.free_threaded_gil)), width)));
  }
  if (figures.gil_never_enabled) {
    lines.push_back(Line("no GIL: free-threaded build running without it", TopStyle::kBold));
  } else {
    std::vector<std::string> texts =
        GilFigureTexts(figures.gil_held, figures.contention, figures.mean_waiters,
                       figures.held_in_native, figures.switches_per_s, figures.mean_hold_ms);
    texts.front() = absl::StrCat("GIL ", texts.front());
    if (figures.gil_disabled > 0)
      texts.push_back(absl::StrFormat("no GIL %.0f%%", 100 * figures.gil_disabled));
    if (figures.unknown > 0)
      texts.push_back(absl::StrFormat("state unknown %.0f%%", 100 * figures.unknown));
    lines.push_back(Line(JoinFitting(texts, width)));
  }
  const VerdictDecision decision = window.Decide();
  lines.push_back({{"verdict so far: "},
                   {VerdictName(decision.verdict), TopStyle::kBold},
                   {absl::StrCat(" (", decision.reason, ")"), TopStyle::kDim}});
  if (info.cpu_budget) {
    lines.push_back(
        {{"what if: "},
         {TerminalSafe(EstimateWithoutGil(window, *info.cpu_budget).text), TopStyle::kDim}});
  }
  return lines;
}

// A process line's short what-if: "up to 1.96x without GIL", "no gain without GIL".
std::string ShortEstimate(const WithoutGilEstimate& estimate) {
  switch (estimate.kind) {
    case WithoutGilEstimate::Kind::kGain:
      return absl::StrFormat("up to %.2f\u00d7 without GIL", estimate.speedup);
    case WithoutGilEstimate::Kind::kNeedsNativeRelease:
      return absl::StrFormat("up to %.2f\u00d7 if its C call let go", estimate.speedup);
    case WithoutGilEstimate::Kind::kNoGain:
      return "no gain without GIL";
    case WithoutGilEstimate::Kind::kGilOff:
    case WithoutGilEstimate::Kind::kNotEnoughSamples:
      break;
  }
  return "";
}

// One line per GIL when there are several (subinterpreters with their own).
std::vector<ScreenLine> PerGilLines(const Profile& window, size_t width) {
  std::vector<ScreenLine> lines;
  const std::vector<PerGilFigures> gils = window.PerGil();
  if (gils.size() < 2) return lines;
  for (const PerGilFigures& gil : gils) {
    std::vector<std::string> texts =
        GilFigureTexts(gil.held, gil.contention, gil.mean_waiters, gil.held_in_native,
                       gil.switches_per_s, gil.mean_hold_ms);
    texts.front() =
        absl::StrFormat("  GIL of interpreter %d: %s", gil.interpreter_id, texts.front());
    lines.push_back(Line(JoinFitting(texts, width)));
  }
  return lines;
}

// --subprocesses: a line per process with its own GIL figures and verdict, the command line
// taking what room is left.
std::vector<ScreenLine> ProcessLines(const TopInfo& info, size_t width) {
  std::vector<ScreenLine> lines;
  for (const TopProcess& process : info.processes) {
    const GilFigures figures = process.window->Figures();
    std::vector<std::string> texts = {absl::StrFormat("  pid %d", process.pid)};
    if (process.gone) {
      texts.push_back("gone");
    } else if (figures.samples == 0) {
      texts.push_back("no samples in the window");
    } else if (figures.gil_never_enabled) {
      texts.push_back("no GIL");
    } else {
      for (std::string& text :
           GilFigureTexts(figures.gil_held, figures.contention, figures.mean_waiters,
                          figures.held_in_native, figures.switches_per_s, figures.mean_hold_ms))
        texts.push_back(std::move(text));
    }
    if (figures.samples > 0) texts.push_back(VerdictName(process.window->ComputeVerdict()));
    if (figures.samples > 0 && process.cpu_budget) {
      std::string estimate =
          ShortEstimate(EstimateWithoutGil(*process.window, *process.cpu_budget));
      if (!estimate.empty()) texts.push_back(std::move(estimate));
    }
    std::string text = JoinFitting(texts, width);
    if (Columns(text) + 4 < width && !process.command_line.empty()) {
      absl::StrAppend(&text, "  ",
                      Cut(TerminalSafe(process.command_line), width - Columns(text) - 2));
    }
    lines.push_back(Line(std::move(text), process.gone ? TopStyle::kDim : TopStyle::kNormal));
    const FreeThreadedGil::State why = process.free_threaded_gil.state;
    if (process.free_threaded && why != FreeThreadedGil::State::kUnknown) {
      lines.push_back(Line(
          Cut(absl::StrCat("    GIL: ", FreeThreadedGilText(process.free_threaded_gil)), width),
          TopStyle::kDim));
    }
  }
  return lines;
}

struct FunctionRow {
  FrameId frame;
  int64_t own = 0, total = 0;
};

// Own (leaf) and total (anywhere in the stack, once per stack) weight of each frame of `mode`.
std::vector<FunctionRow> FunctionRows(const std::vector<ViewStack>& stacks, TopSort sort) {
  absl::flat_hash_map<FrameId, FunctionRow> by_frame;
  for (const ViewStack& stack : stacks) {
    if (stack.frames.empty()) continue;
    FunctionRow& leaf = by_frame[stack.frames.back()];
    leaf.frame = stack.frames.back();
    leaf.own += stack.weight;
    absl::flat_hash_set<FrameId> seen;
    for (FrameId frame : stack.frames) {
      if (!seen.insert(frame).second) continue;  // recursion: count the stack once
      FunctionRow& row = by_frame[frame];
      row.frame = frame;
      row.total += stack.weight;
    }
  }
  std::vector<FunctionRow> rows;
  rows.reserve(by_frame.size());
  for (const auto& [frame, row] : by_frame) rows.push_back(row);
  std::sort(rows.begin(), rows.end(), [sort](const FunctionRow& a, const FunctionRow& b) {
    const auto key = [sort](const FunctionRow& row) {
      return sort == TopSort::kOwn ? std::make_pair(row.own, row.total)
                                   : std::make_pair(row.total, row.own);
    };
    if (key(a) != key(b)) return key(a) > key(b);
    return a.frame < b.frame;  // interned in order of first sight: stable between refreshes
  });
  return rows;
}

ScreenLine FunctionTitle(ProfileMode mode, size_t width) {
  const std::string name = ProfileModeName(mode);
  const std::string title = absl::StrCat(name, ": ", ViewMeaning(mode));
  const size_t hint = Columns(kKeysHint);
  if (Columns(title) + 2 + hint <= width) {
    return {{name, TopStyle::kBold},
            {absl::StrCat(": ", ViewMeaning(mode))},
            {std::string(width - Columns(title) - hint, ' ')},
            {kKeysHint, TopStyle::kDim}};
  }
  if (Columns(name) + 2 + hint <= width)
    return {{name, TopStyle::kBold}, {"  "}, {kKeysHint, TopStyle::kDim}};
  return {{name, TopStyle::kBold}, {absl::StrCat(": ", ViewMeaning(mode))}};
}

// The view's title, column header and rows, in at most `budget` lines; `total` is the view's
// weight.
std::vector<ScreenLine> FunctionLines(const Profile& window, const std::vector<FunctionRow>& rows,
                                      int64_t total, const TopControls& controls, size_t width,
                                      size_t budget) {
  std::vector<ScreenLine> lines;
  if (budget == 0) return lines;
  lines.push_back(FunctionTitle(controls.mode, width));
  if (total == 0) {
    if (budget >= 2) {
      lines.push_back(Line(
          absl::StrCat("  nothing in the ", ProfileModeName(controls.mode), " view in this window"),
          TopStyle::kDim));
    }
    return lines;
  }
  if (budget < 2) return lines;
  const bool own_first = controls.sort == TopSort::kOwn;
  // The sort column in capitals, so it reads without the bold.
  lines.push_back(
      {{"  "},
       {own_first ? "OWN%" : "own%", own_first ? TopStyle::kBold : TopStyle::kHeader},
       {"  ", TopStyle::kHeader},
       {own_first ? "total%" : "TOTAL%", own_first ? TopStyle::kHeader : TopStyle::kBold},
       {"  function (file:line)", TopStyle::kHeader}});
  const bool full_path = width >= static_cast<size_t>(kWideScreen);
  for (const FunctionRow& row : rows) {
    if (lines.size() >= budget) break;
    lines.push_back({{absl::StrFormat("%5.1f%%  %5.1f%%  ", Percent(row.own, total),
                                      Percent(row.total, total))},
                     {SafeLabel(window.stacks().frame(row.frame), full_path)}});
  }
  return lines;
}

std::vector<ScreenLine> TooSmall(int width, int height) {
  const size_t columns = static_cast<size_t>(width);
  for (const std::string& text :
       {absl::StrFormat("terminal too small (%dx%d): need at least %dx%d", width, height,
                        kTopMinWidth, kTopMinHeight),
        absl::StrFormat("terminal too small: need %dx%d", kTopMinWidth, kTopMinHeight)}) {
    if (Columns(text) <= columns) return {Line(text, TopStyle::kWarning)};
  }
  return {Line(Cut(absl::StrFormat("need %dx%d", kTopMinWidth, kTopMinHeight), columns),
               TopStyle::kWarning)};
}

}  // namespace

size_t LineWidth(const ScreenLine& line) {
  size_t width = 0;
  for (const ScreenSegment& segment : line) width += Columns(segment.text);
  return width;
}

std::string ScreenText(const std::vector<ScreenLine>& lines) {
  std::string text;
  for (const ScreenLine& line : lines) {
    for (const ScreenSegment& segment : line) text += segment.text;
    text += '\n';
  }
  return text;
}

ProfileMode NextTopMode(ProfileMode mode) {
  for (size_t i = 0; i < kAllModes.size(); ++i) {
    if (kAllModes[i] == mode) return kAllModes[(i + 1) % kAllModes.size()];
  }
  return kAllModes[0];
}

std::optional<ProfileMode> TopModeForKey(int key) {
  if (key < '1' || key >= '1' + static_cast<int>(kAllModes.size())) return std::nullopt;
  return kAllModes[static_cast<size_t>(key - '1')];
}

std::vector<ScreenLine> RenderTopScreen(const Profile& window, const Snapshot* latest,
                                        const TopInfo& info, const TopControls& controls, int width,
                                        int height) {
  if (width <= 0 || height <= 0) return {};
  if (width < kTopMinWidth || height < kTopMinHeight) return TooSmall(width, height);
  const size_t columns = static_cast<size_t>(width);
  const size_t rows = static_cast<size_t>(height);
  const GilFigures figures = window.Figures();

  std::vector<ScreenLine> lines = HeaderLines(window, figures, info, controls, columns);
  std::vector<ScreenLine> bottom;
  if (!info.status.empty()) bottom.push_back(Line(TerminalSafe(info.status), TopStyle::kWarning));
  if (figures.samples == 0) {
    lines.push_back(Line("waiting for samples\u2026", TopStyle::kDim));
  } else {
    // Per-GIL lines as long as the tables keep a few rows each.
    constexpr size_t kTableRowsKept = 7;
    std::vector<ScreenLine> per_gil =
        info.processes.empty() ? PerGilLines(window, columns) : ProcessLines(info, columns);
    const size_t fixed = lines.size() + bottom.size() + kTableRowsKept;
    const size_t gil_room = rows > fixed ? rows - fixed : 0;
    if (per_gil.size() > gil_room) {
      const size_t more = per_gil.size() - (gil_room > 0 ? gil_room - 1 : 0);
      per_gil.resize(gil_room > 0 ? gil_room - 1 : 0);
      if (gil_room > 0)
        per_gil.push_back(Line(absl::StrFormat("  ... and %d more %s", more,
                                               info.processes.empty() ? "GILs" : "processes"),
                               TopStyle::kDim));
    }
    for (ScreenLine& line : per_gil) lines.push_back(std::move(line));

    const top_threads::ShownRows shown = top_threads::RowsToShow(window, info, controls);
    const top_threads::ThreadColumns thread_columns =
        top_threads::ColumnsFor(columns, !info.processes.empty());
    const size_t room =
        rows > lines.size() + bottom.size() ? rows - lines.size() - bottom.size() : 0;
    const bool legend = thread_columns.bar > 0 && room >= kLegendMinRows;
    const size_t thread_need =
        1 + (legend ? 1 : 0) + shown.rows.size() + (shown.hidden_idle > 0 ? 1 : 0);
    const std::vector<ViewStack> stacks = ViewStacks(window, controls.mode);
    const std::vector<FunctionRow> functions = FunctionRows(stacks, controls.sort);
    // The threads take what they need, up to half the room when the functions want the rest.
    const size_t function_need = 2 + std::max<size_t>(1, functions.size());
    size_t thread_budget = std::min(thread_need, room);
    if (thread_need + function_need > room) {
      thread_budget = std::min(
          thread_need, std::max(room / 2, room > function_need ? room - function_need : size_t{0}));
    }
    for (ScreenLine& line :
         top_threads::ThreadLines(shown, latest, thread_columns, legend, thread_budget))
      lines.push_back(std::move(line));
    const size_t function_budget = room > thread_budget ? room - thread_budget : 0;
    for (ScreenLine& line :
         FunctionLines(window, functions, TotalWeight(stacks), controls, columns, function_budget))
      lines.push_back(std::move(line));
  }
  for (ScreenLine& line : bottom) lines.push_back(std::move(line));
  if (lines.size() > rows) lines.erase(lines.begin() + static_cast<ptrdiff_t>(rows), lines.end());
  for (ScreenLine& line : lines) line = FitLine(std::move(line), columns);
  return lines;
}

}  // namespace gilscope
