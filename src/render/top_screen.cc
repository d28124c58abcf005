// `gilscope top`'s screen: the header (target, sampling, GIL figures, verdict), a thread table
// with a bar per thread over the window, and the functions of the chosen view with their own and
// total shares, as py-spy top lists them. Every line is cut to the width; sections share the
// height, the function list taking what the threads leave.
#include "gilscope/render/top_screen.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/aggregate/thread_groups.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {
namespace {

constexpr int kStateColumn = 11;    // "holding-nat"
constexpr int kFullScreen = 120;    // narrower: file base names in the thread table
constexpr int kBarScreen = 100;     // narrower: shorter bars, shorter names
constexpr int kWideScreen = 80;     // narrower: no bars, file base names in the function list
constexpr int kMediumScreen = 60;   // narrower: no percent columns in the thread table
constexpr int kLegendMinRows = 14;  // fewer rows left for the tables: no legend line
constexpr char kKeysHint[] = "v/1-5 view  s sort  t idle  g group  p pause  r reset  q quit";

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t Columns(absl::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

// The first `columns` code points of `text`.
std::string Cut(absl::string_view text, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (IsContinuationByte(text[i])) continue;
    if (seen == columns) return std::string(text.substr(0, i));
    ++seen;
  }
  return std::string(text);
}

// `text` cut or padded with spaces to exactly `columns`.
std::string Fit(absl::string_view text, size_t columns) {
  std::string out = Cut(text, columns);
  out.append(columns - Columns(out), ' ');
  return out;
}

std::string FitRight(absl::string_view text, size_t columns) {
  std::string out = Cut(text, columns);
  return std::string(columns - Columns(out), ' ') + out;
}

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

ScreenLine Line(std::string text, TopStyle style = TopStyle::kNormal) {
  return {ScreenSegment{std::move(text), style}};
}

double Percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

// A frame's label, safe for the terminal: "function (file:line)", with the file's base name
// on narrow screens so the function keeps the room.
std::string SafeLabel(const Frame& frame, bool full_path) {
  if (full_path) return TerminalSafe(FrameLabel(frame));
  Frame short_frame = frame;
  short_frame.file = SharedText(BaseName(frame.file.str()));
  return TerminalSafe(FrameLabel(short_frame));
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

// The short state words of the "now" column.
const char* StateNow(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
      return "holding";
    case ThreadState::kHoldingGilInNative:
      return "holding-nat";
    case ThreadState::kWaitingForGil:
      return "waiting";
    case ThreadState::kRunningWithoutGil:
      return "running";
    case ThreadState::kIdle:
      return "idle";
    case ThreadState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

TopStyle StateStyle(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
      return TopStyle::kHolding;
    case ThreadState::kHoldingGilInNative:
      return TopStyle::kHoldingInNative;
    case ThreadState::kWaitingForGil:
      return TopStyle::kWaiting;
    case ThreadState::kRunningWithoutGil:
      return TopStyle::kRunning;
    case ThreadState::kIdle:
      return TopStyle::kIdle;
    case ThreadState::kUnknown:
      return TopStyle::kUnknown;
  }
  return TopStyle::kUnknown;
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
  std::string title = absl::StrCat("gilscope top \u2014 pid ", info.pid);
  if (!info.python_version.empty())
    absl::StrAppend(&title, " (Python ", TerminalSafe(info.python_version), ")");
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
  return lines;
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

// The thread table's columns for a width.
struct ThreadColumns {
  size_t name = 10;
  int bar = 0;  // cells; 0: no bar
  bool percents = false;
  bool full_path = false;
};

ThreadColumns ColumnsFor(size_t width) {
  ThreadColumns columns;
  columns.bar = width >= kBarScreen ? 20 : width >= kWideScreen ? 10 : 0;
  columns.percents = width >= kMediumScreen;
  columns.full_path = width >= kFullScreen;
  columns.name = width >= kFullScreen ? 20 : width >= kBarScreen ? 14 : 10;
  return columns;
}

int64_t Busy(const ThreadShare& thread) { return BusySamples(thread); }
bool IsIdleThread(const ThreadShare& thread) { return Busy(thread) + thread.unknown == 0; }

// The thread's shares as `bar_cells` cells, by largest remainder so they add up.
void AppendBar(const ThreadShare& thread, int bar_cells, ScreenLine& line) {
  struct Part {
    int64_t count;
    char cell;
    TopStyle style;
  };
  const std::array<Part, 6> parts = {{
      {thread.held - thread.held_in_native, '#', TopStyle::kHolding},
      {thread.held_in_native, 'N', TopStyle::kHoldingInNative},
      {thread.waiting, 'w', TopStyle::kWaiting},
      {thread.running, 'r', TopStyle::kRunning},
      {thread.idle, '.', TopStyle::kIdle},
      {thread.unknown, '?', TopStyle::kUnknown},
  }};
  std::array<int, 6> cells{};
  std::array<double, 6> remainders{};
  int64_t counted = 0;
  int given = 0;
  const double samples = static_cast<double>(std::max<int64_t>(thread.samples, 1));
  for (size_t i = 0; i < parts.size(); ++i) {
    const double exact =
        bar_cells * static_cast<double>(std::max<int64_t>(parts[i].count, 0)) / samples;
    cells[i] = static_cast<int>(exact);
    remainders[i] = exact - cells[i];
    given += cells[i];
    counted += std::max<int64_t>(parts[i].count, 0);
  }
  const int target = std::min<int>(
      bar_cells, static_cast<int>(std::lround(bar_cells * static_cast<double>(counted) / samples)));
  while (given < target) {
    const size_t most = static_cast<size_t>(std::max_element(remainders.begin(), remainders.end()) -
                                            remainders.begin());
    ++cells[most];
    remainders[most] = -1;
    ++given;
  }
  line.push_back({"["});
  for (size_t i = 0; i < parts.size(); ++i) {
    if (cells[i] > 0)
      line.push_back({std::string(static_cast<size_t>(cells[i]), parts[i].cell), parts[i].style});
  }
  line.push_back({absl::StrCat(std::string(static_cast<size_t>(bar_cells - given), ' '), "]")});
}

const ThreadSnapshot* FindThread(const Snapshot* latest, pid_t native_id) {
  if (latest == nullptr || native_id == 0) return nullptr;
  for (const ThreadSnapshot& thread : latest->threads) {
    if (thread.native_id == native_id) return &thread;
  }
  return nullptr;
}

ScreenLine ThreadHeader(const ThreadColumns& columns) {
  std::string text = absl::StrCat(FitRight("OS id", 7), " ", Fit("name", columns.name), " ");
  if (columns.bar > 0)
    absl::StrAppend(&text, Fit("window", static_cast<size_t>(columns.bar) + 2), " ");
  if (columns.percents) absl::StrAppend(&text, " held  wait ");
  absl::StrAppend(&text, Fit("now", kStateColumn), " function now");
  return Line(text, TopStyle::kHeader);
}

// A group's states now, most common first: "30 idle, 5 running"; empty when none is live.
std::vector<std::pair<int, ThreadState>> GroupStatesNow(const std::vector<pid_t>& members,
                                                        const Snapshot& latest) {
  std::map<ThreadState, int> counts;
  for (const ThreadSnapshot& thread : latest.threads) {
    if (std::binary_search(members.begin(), members.end(), thread.native_id))
      ++counts[thread.state];
  }
  std::vector<std::pair<int, ThreadState>> states;
  for (const auto& [state, count] : counts) states.push_back({count, state});
  std::stable_sort(states.begin(), states.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  return states;
}

// The id, name, bar and percent columns of a thread's or a group's row; a group shows its
// count ("×37") where a thread shows its id.
ScreenLine RowStart(const ThreadRow& row, const ThreadColumns& columns) {
  const ThreadShare& thread = row.share;
  // Threads folded together (Profile::Threads) or of unknown OS id have none.
  const std::string id = row.is_group()          ? absl::StrCat("\u00d7", row.members.size())
                         : thread.native_id != 0 ? absl::StrCat(thread.native_id)
                                                 : "-";
  const std::string name = thread.name.empty() ? "(no name)" : TerminalSafe(thread.name);
  ScreenLine line = {{absl::StrCat(FitRight(id, 7), " ", Fit(name, columns.name), " ")}};
  if (columns.bar > 0) {
    AppendBar(thread, columns.bar, line);
    line.push_back({" "});
  }
  if (columns.percents) {
    line.push_back({absl::StrFormat("%4.0f%% %4.0f%% ", Percent(thread.held, thread.samples),
                                    Percent(thread.waiting, thread.samples))});
  }
  return line;
}

// A group's "now": its most common state, then how many members are in each.
ScreenLine GroupLine(const ThreadRow& row, const Snapshot* latest, const ThreadColumns& columns) {
  ScreenLine line = RowStart(row, columns);
  const std::vector<std::pair<int, ThreadState>> states =
      latest != nullptr ? GroupStatesNow(row.members, *latest)
                        : std::vector<std::pair<int, ThreadState>>{};
  if (states.empty()) {
    line.push_back({Fit(latest == nullptr ? "-" : "gone", kStateColumn), TopStyle::kDim});
    return line;
  }
  line.push_back(
      {Fit(StateNow(states.front().second), kStateColumn), StateStyle(states.front().second)});
  std::string counts;
  for (const auto& [count, state] : states)
    absl::StrAppend(&counts, counts.empty() ? " " : ", ", count, " ", StateNow(state));
  line.push_back({counts});
  return line;
}

ScreenLine ThreadLine(const ThreadRow& row, const Snapshot* latest, const ThreadColumns& columns) {
  if (row.is_group()) return GroupLine(row, latest, columns);
  const ThreadShare& thread = row.share;
  const bool folded = thread.native_id == 0;
  ScreenLine line = RowStart(row, columns);
  const ThreadSnapshot* now = FindThread(latest, thread.native_id);
  if (now == nullptr) {
    line.push_back({Fit(latest == nullptr || folded ? "-" : "gone", kStateColumn), TopStyle::kDim});
    return line;
  }
  line.push_back({Fit(StateNow(now->state), kStateColumn), StateStyle(now->state)});
  std::string function;
  if (!now->frames.empty())
    function = SafeLabel(now->frames.front(), columns.full_path);
  else if (!now->native_function.empty())
    function = TerminalSafe(now->native_function);
  line.push_back({absl::StrCat(" ", function)});
  return line;
}

// Busiest first, a group by its members' busy samples summed; threads folded away last.
std::vector<ThreadRow> SortedRows(std::vector<ThreadRow> rows) {
  const auto folded = [](const ThreadRow& row) {
    return !row.is_group() && row.share.native_id == 0;
  };
  const auto id = [](const ThreadRow& row) {
    return row.is_group() ? row.members.front() : row.share.native_id;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const ThreadRow& a, const ThreadRow& b) {
    if (folded(a) != folded(b)) return folded(b);
    if (Busy(a.share) != Busy(b.share)) return Busy(a.share) > Busy(b.share);
    return id(a) < id(b);
  });
  return rows;
}

// The thread table in at most `budget` lines: header, maybe a legend, rows busiest first, and
// what was left out.
std::vector<ScreenLine> ThreadLines(const std::vector<ThreadRow>& shown, size_t hidden_idle,
                                    const Snapshot* latest, const ThreadColumns& columns,
                                    bool legend, size_t budget) {
  std::vector<ScreenLine> lines;
  if (budget == 0) return lines;
  lines.push_back(ThreadHeader(columns));
  if (legend && budget >= 4) {
    lines.push_back({{"  "},
                     {"#", TopStyle::kHolding},
                     {" holding GIL  "},
                     {"N", TopStyle::kHoldingInNative},
                     {" holding in native code  "},
                     {"w", TopStyle::kWaiting},
                     {" waiting  "},
                     {"r", TopStyle::kRunning},
                     {" running without GIL  "},
                     {".", TopStyle::kIdle},
                     {" idle  "},
                     {"?", TopStyle::kUnknown},
                     {" unknown"}});
  }
  const size_t left = budget > lines.size() ? budget - lines.size() : 0;
  // Rows come before the count of hidden idle threads.
  const bool say_hidden =
      hidden_idle > 0 && (shown.size() + 1 <= left || left >= 3 || shown.empty());
  const size_t room = left - (say_hidden && left > 0 ? 1 : 0);
  // Room for every row, or for all but one and the "... and N more" line.
  const size_t rows = shown.size() <= room ? shown.size() : room >= 2 ? room - 1 : room;
  for (size_t i = 0; i < rows; ++i) lines.push_back(ThreadLine(shown[i], latest, columns));
  if (rows < shown.size() && lines.size() < budget) {
    lines.push_back(
        Line(absl::StrFormat("    ... and %d more threads", shown.size() - rows), TopStyle::kDim));
  }
  if (hidden_idle > 0 && lines.size() < budget) {
    lines.push_back(Line(absl::StrFormat("    %d idle thread%s hidden (t to show)", hidden_idle,
                                         hidden_idle == 1 ? "" : "s"),
                         TopStyle::kDim));
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
    std::vector<ScreenLine> per_gil = PerGilLines(window, columns);
    const size_t fixed = lines.size() + bottom.size() + kTableRowsKept;
    const size_t gil_room = rows > fixed ? rows - fixed : 0;
    if (per_gil.size() > gil_room) {
      const size_t more = per_gil.size() - (gil_room > 0 ? gil_room - 1 : 0);
      per_gil.resize(gil_room > 0 ? gil_room - 1 : 0);
      if (gil_room > 0)
        per_gil.push_back(Line(absl::StrFormat("  ... and %d more GILs", more), TopStyle::kDim));
    }
    for (ScreenLine& line : per_gil) lines.push_back(std::move(line));

    std::vector<ThreadRow> shown;
    size_t hidden_idle = 0;
    for (ThreadRow& row : SortedRows(GroupThreads(window.Threads(), controls.by_thread))) {
      if (!controls.show_idle && IsIdleThread(row.share)) {
        hidden_idle += row.is_group() ? row.members.size() : 1;
        continue;
      }
      shown.push_back(std::move(row));
    }
    const ThreadColumns thread_columns = ColumnsFor(columns);
    const size_t room =
        rows > lines.size() + bottom.size() ? rows - lines.size() - bottom.size() : 0;
    const bool legend = thread_columns.bar > 0 && room >= kLegendMinRows;
    const size_t thread_need = 1 + (legend ? 1 : 0) + shown.size() + (hidden_idle > 0 ? 1 : 0);
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
         ThreadLines(shown, hidden_idle, latest, thread_columns, legend, thread_budget))
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
