#include "top_threads.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/render/safe_text.h"
#include "top_text.h"

namespace gilscope::top_threads {
namespace {

using top_text::Fit;
using top_text::FitRight;
using top_text::kWideScreen;
using top_text::Line;
using top_text::Percent;
using top_text::SafeLabel;

constexpr int kStateColumn = 11;   // "holding-nat"
constexpr int kFullScreen = 120;   // narrower: file base names in the thread table
constexpr int kBarScreen = 100;    // narrower: shorter bars, shorter names
constexpr int kMediumScreen = 60;  // narrower: no percent columns in the thread table

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
  std::string text = columns.process ? absl::StrCat(FitRight("pid", 7), " ") : "";
  absl::StrAppend(&text, FitRight("OS id", 7), " ", Fit("name", columns.name), " ");
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

// The pid (several processes), id, name, bar and percent columns of a thread's or a group's row; a
// group shows its count ("×37") where a thread shows its id.
ScreenLine RowStart(const ThreadRow& row, const ThreadColumns& columns) {
  const ThreadShare& thread = row.share;
  // Threads folded together (Profile::Threads) or of unknown OS id have none.
  const std::string id = row.is_group()          ? absl::StrCat("\u00d7", row.members.size())
                         : thread.native_id != 0 ? absl::StrCat(thread.native_id)
                                                 : "-";
  const std::string name = thread.name.empty() ? "(no name)" : TerminalSafe(thread.name);
  std::string start =
      columns.process
          ? absl::StrCat(FitRight(row.process != 0 ? absl::StrCat(row.process) : "-", 7), " ")
          : "";
  absl::StrAppend(&start, FitRight(id, 7), " ", Fit(name, columns.name), " ");
  ScreenLine line = {{std::move(start)}};
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

}  // namespace

ThreadColumns ColumnsFor(size_t width, bool several_processes) {
  ThreadColumns columns;
  columns.process = several_processes;
  columns.bar = width >= kBarScreen ? 20 : width >= kWideScreen ? 10 : 0;
  columns.percents = width >= kMediumScreen;
  columns.full_path = width >= kFullScreen;
  columns.name = width >= kFullScreen ? 20 : width >= kBarScreen ? 14 : 10;
  return columns;
}

ShownRows RowsToShow(const Profile& window, const TopInfo& info, const TopControls& controls) {
  ShownRows shown;
  const auto* process_of = info.processes.empty() ? nullptr : &info.thread_process;
  for (ThreadRow& row :
       SortedRows(GroupThreads(window.Threads(), controls.by_thread, process_of))) {
    if (!controls.show_idle && IsIdleThread(row.share)) {
      shown.hidden_idle += row.is_group() ? row.members.size() : 1;
      continue;
    }
    shown.rows.push_back(std::move(row));
  }
  return shown;
}

// The thread table in at most `budget` lines: header, maybe a legend, rows busiest first, and
// what was left out.
std::vector<ScreenLine> ThreadLines(const ShownRows& shown_rows, const Snapshot* latest,
                                    const ThreadColumns& columns, bool legend, size_t budget) {
  const std::vector<ThreadRow>& shown = shown_rows.rows;
  const size_t hidden_idle = shown_rows.hidden_idle;
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

}  // namespace gilscope::top_threads
