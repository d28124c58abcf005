// RenderTopScreen: `gilscope top`'s screen over made-up windows of known shape.
#include "gilscope/render/top_screen.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gilscope/render/safe_text.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);
constexpr int kSamples = 100;

ThreadSnapshot Thread(pid_t tid, const std::string& name, ThreadState state,
                      std::vector<Frame> frames) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.name = name;
  thread.state = state;
  thread.frames = std::move(frames);
  return thread;
}

// Sample `i` of the shape every test uses: two spinners taking turns (spinner-1 holds in 3
// samples of 4 while spinner-2 waits, and the other way round in the 4th), a hasher running
// without the GIL and a sleeper, one GIL whose switch counter grows by 2 a sample.
Snapshot Shape(int i) {
  const bool first_holds = i % 4 != 3;
  const auto role = [](bool holds) {
    return holds ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil;
  };
  Snapshot snapshot;
  snapshot.threads = {
      Thread(101, "spinner-1", role(first_holds),
             {{"spin_a", "/srv/app/work.py", 10},
              {"worker", "/srv/app/work.py", 20},
              {"<module>", "/srv/app/main.py", 1}}),
      Thread(102, "spinner-2", role(!first_holds),
             {{"spin_b", "/srv/app/work.py", 30},
              {"worker", "/srv/app/work.py", 20},
              {"<module>", "/srv/app/main.py", 1}}),
      Thread(103, "hasher", ThreadState::kRunningWithoutGil,
             {{"hash_loop", "/srv/app/hashing.py", 5},
              {"run", "/usr/lib/python3.12/threading.py", 1010}}),
      Thread(104, "sleeper", ThreadState::kIdle,
             {{"sleep_forever", "/srv/app/idle.py", 3},
              {"run", "/usr/lib/python3.12/threading.py", 1010}}),
  };
  GilSnapshot gil;
  gil.switch_number = static_cast<uint64_t>(2 * i);
  snapshot.gils.push_back(gil);
  return snapshot;
}

Profile ShapeProfile() {
  Profile profile;
  for (int i = 0; i < kSamples; ++i)
    AddSettled(profile, Shape(i), kStart + absl::Milliseconds(10 * i));
  return profile;
}

TopInfo Info() {
  TopInfo info;
  info.pid = 4242;
  info.python_version = "3.12.1";
  info.command_line = "python app.py --workers 2";
  info.rate_asked_hz = 100;
  info.rate_achieved_hz = 98;
  info.window_s = 10;
  return info;
}

std::string LineText(const ScreenLine& line) { return ScreenText({line}); }

// The first line containing `needle`, or null.
const ScreenLine* FindLine(const std::vector<ScreenLine>& lines, absl::string_view needle) {
  for (const ScreenLine& line : lines) {
    if (absl::StrContains(LineText(line), needle)) return &line;
  }
  return nullptr;
}

// The thread table's row of an OS id: it starts with the id, right-aligned in 7 columns.
const ScreenLine* ThreadRowOf(const std::vector<ScreenLine>& lines, pid_t tid) {
  const std::string prefix = absl::StrFormat("%7d ", tid);
  for (const ScreenLine& line : lines) {
    if (absl::StartsWith(LineText(line), prefix)) return &line;
  }
  return nullptr;
}

// The bar's cells of one state: segments of its style made of its character only (the state
// column has the style too, in words).
size_t CellsOf(const ScreenLine& line, TopStyle style, char cell) {
  size_t count = 0;
  for (const ScreenSegment& segment : line) {
    if (segment.style == style && segment.text.find_first_not_of(cell) == std::string::npos)
      count += segment.text.size();
  }
  return count;
}

struct Screen {
  Profile profile = ShapeProfile();
  Snapshot latest = Settled(Shape(kSamples - 1));  // spinner-2 holds, spinner-1 waits
  TopInfo info = Info();
  TopControls controls;

  std::vector<ScreenLine> Render(int width = 200, int height = 50) const {
    return RenderTopScreen(profile, &latest, info, controls, width, height);
  }
};

TEST(TopScreenTest, HeaderShowsTargetSamplingGilFiguresAndVerdict) {
  const std::string text = ScreenText(Screen().Render());
  EXPECT_TRUE(absl::StrContains(
      text, "gilscope top \u2014 pid 4242 (Python 3.12.1): python app.py --workers 2\n"))
      << text;
  // 100 samples 10 ms apart: 0.99 s of the 10 s window.
  EXPECT_TRUE(absl::StrContains(text, "rate 98/100 Hz, window 10 s (1.0 s so far), 100 samples"))
      << text;
  // 198 hand-offs over 0.99 s, all of it held.
  EXPECT_TRUE(absl::StrContains(
      text, "GIL held 100%  contention 100%  mean waiters 1.00  hand-offs 200/s  mean hold 5.0 ms"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "verdict so far: python_cpu_bound (GIL contended")) << text;
  EXPECT_FALSE(absl::StrContains(text, "[paused display]"));
  EXPECT_FALSE(absl::StrContains(text, "not paused"));
  EXPECT_FALSE(absl::StrContains(text, "GIL of interpreter"));  // one GIL: no per-GIL lines
}

TEST(TopScreenTest, FreeThreadedHeaderSaysWhyTheGilIsOn) {
  Screen screen;
  EXPECT_EQ(FindLine(screen.Render(), "re-enabled"), nullptr);  // not free-threaded: no line
  screen.info.free_threaded = true;
  screen.info.free_threaded_gil = {FreeThreadedGil::State::kEnabledByModule, {"legacy\x1b[2J"}};
  const std::string text = ScreenText(screen.Render());
  EXPECT_TRUE(absl::StrContains(text,
                                "GIL: on, re-enabled when module 'legacy\\x1b[2J' was imported "
                                "(it does not declare free-threading support)\n"))
      << text;
  screen.info.free_threaded_gil = {FreeThreadedGil::State::kAskedFor, {}};
  EXPECT_TRUE(absl::StrContains(ScreenText(screen.Render()),
                                "GIL: on, asked for (PYTHON_GIL=1 or -X gil=1)\n"));
  screen.info.free_threaded_gil = {FreeThreadedGil::State::kOff, {}};
  EXPECT_EQ(FindLine(screen.Render(), "GIL: "), nullptr);  // the figures say there is none
}

// The what-if estimate under the verdict, once the target's CPUs are known: two spinners taking
// turns beside a hasher want 3 CPUs and use 2: 1.5x on 4 CPUs, nothing on 2.
TEST(TopScreenTest, HeaderGivesTheWhatIfEstimateForTheTargetsCpus) {
  Screen screen;
  EXPECT_EQ(FindLine(screen.Render(), "what if"), nullptr);
  screen.info.cpu_budget = CpuBudget{4, "its affinity", false};
  const std::string text = ScreenText(screen.Render());
  EXPECT_TRUE(absl::StrContains(text, "what if: up to 1.50\u00d7 faster without the GIL: "))
      << text;
  screen.info.cpu_budget = CpuBudget{2, "its affinity", false};
  EXPECT_TRUE(
      absl::StrContains(ScreenText(screen.Render()), "what if: no faster without the GIL: "));
}

// --subprocesses: a line per process with its own GIL figures, verdict and what-if; the
// verdict so far is the contended process's; a free-threaded process says why its GIL is on.
TEST(TopScreenTest, ATreeHasALinePerProcessAndTheVerdictOfTheOneThatMatters) {
  Profile worker;  // one spinner alone: its GIL held, nobody waiting
  for (int i = 0; i < kSamples; ++i) {
    Snapshot snapshot;
    snapshot.threads = {
        Thread(501, "MainThread", ThreadState::kHoldingGil, {{"spin", "/srv/app/pool.py", 7}})};
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(worker, std::move(snapshot), kStart + absl::Milliseconds(10 * i));
  }
  Screen screen;  // its Profile stands for the whole window here: only the header is checked
  screen.info.command_line.clear();  // as top says it of a tree: each process has its own
  const Profile parent = ShapeProfile();
  screen.info.processes = {
      {.pid = 500,
       .python_version = "3.14.7",
       .command_line = "python pool.py\x1b[2J",
       .window = &worker,
       .cpu_budget = CpuBudget{2, "its affinity", false},
       .free_threaded = true,
       .free_threaded_gil = {FreeThreadedGil::State::kAskedFor, {}}},
      {.pid = 4242,
       .python_version = "3.12.1",
       .command_line = "python app.py",
       .window = &parent,
       .cpu_budget = CpuBudget{4, "its affinity", false}},
  };
  const std::string text = ScreenText(screen.Render());
  EXPECT_TRUE(absl::StrContains(text,
                                "gilscope top \u2014 pid 4242 and its tree: 2 Python "
                                "processes\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "verdict so far: pid 4242: python_cpu_bound (")) << text;
  EXPECT_TRUE(absl::StrContains(text, "  pid 500  held 100%  contention 0%  mean waiters 0.00"))
      << text;
  EXPECT_TRUE(absl::StrContains(text,
                                "python_cpu_bound  no gain without GIL  python pool.py"
                                "\\x1b[2J\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "    GIL: on, asked for (PYTHON_GIL=1 or -X gil=1)\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "  pid 4242  held 100%  contention 100%")) << text;
  EXPECT_TRUE(absl::StrContains(text, "up to 1.50\u00d7 without GIL  python app.py\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "GIL held 100%")) << text;  // no figure merged across
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  // The thread table says each row's process, in a column of its own: a name cut to its
  // column would lose a suffix.
  EXPECT_TRUE(absl::StrContains(text, "    pid   OS id name")) << text;
  EXPECT_TRUE(absl::StrContains(text, "      -     101 spinner-1 ")) << text;  // not told
  for (pid_t tid = 101; tid <= 104; ++tid) screen.info.thread_process[tid] = 4242;
  const std::string told = ScreenText(screen.Render());
  EXPECT_TRUE(absl::StrContains(told, "   4242     101 spinner-1 ")) << told;
  EXPECT_TRUE(absl::StrContains(told, "   4242     104 sleeper ")) << told;
  // A short screen keeps the tables a few rows and says how many processes it left out.
  const std::string short_text = ScreenText(screen.Render(200, 12));
  EXPECT_TRUE(absl::StrContains(short_text, "more processes")) << short_text;
}

TEST(TopScreenTest, NarrowHeaderLeavesFiguresOutWholeNotCut) {
  const std::vector<ScreenLine> lines = Screen().Render(80, 30);
  const ScreenLine* gil = FindLine(lines, "GIL held");
  ASSERT_NE(gil, nullptr);
  EXPECT_EQ(LineText(*gil), "GIL held 100%  contention 100%  mean waiters 1.00  hand-offs 200/s\n");
}

TEST(TopScreenTest, FullWindowSaysNoSoFarAndUnpausedTargetIsFlagged) {
  Screen screen;
  screen.info.window_s = 0.99;
  screen.info.paused_target = false;
  const std::string text = ScreenText(screen.Render());
  EXPECT_TRUE(absl::StrContains(text, "window 0.99 s, 100 samples, not paused")) << text;
}

TEST(TopScreenTest, ThreadBarsFollowEachThreadsShares) {
  const std::vector<ScreenLine> lines = Screen().Render();
  struct Case {
    pid_t tid;
    size_t held, waiting, running, idle;
    std::string percents;
  };
  for (const Case& c : std::vector<Case>{{101, 15, 5, 0, 0, "  75%   25% "},
                                         {102, 5, 15, 0, 0, "  25%   75% "},
                                         {103, 0, 0, 20, 0, "   0%    0% "},
                                         {104, 0, 0, 0, 20, "   0%    0% "}}) {
    SCOPED_TRACE(c.tid);
    const ScreenLine* row = ThreadRowOf(lines, c.tid);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(CellsOf(*row, TopStyle::kHolding, '#'), c.held);
    EXPECT_EQ(CellsOf(*row, TopStyle::kWaiting, 'w'), c.waiting);
    EXPECT_EQ(CellsOf(*row, TopStyle::kRunning, 'r'), c.running);
    EXPECT_EQ(CellsOf(*row, TopStyle::kIdle, '.'), c.idle);
    EXPECT_TRUE(absl::StrContains(LineText(*row), c.percents)) << LineText(*row);
  }
}

TEST(TopScreenTest, ThreadsAreBusiestFirst) {
  const std::vector<ScreenLine> lines = Screen().Render();
  std::vector<size_t> order;
  for (pid_t tid : {101, 102, 103, 104}) {
    const ScreenLine* row = ThreadRowOf(lines, tid);
    ASSERT_NE(row, nullptr);
    order.push_back(static_cast<size_t>(row - lines.data()));
  }
  // The three busy all the time by id, the sleeper last.
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(TopScreenTest, StateAndFunctionNowComeFromTheLatestSample) {
  Screen screen;
  const std::vector<ScreenLine> lines = screen.Render();
  struct Case {
    pid_t tid;
    std::string state;
    TopStyle style;
    std::string function;
  };
  for (const Case& c :
       std::vector<Case>{{101, "waiting", TopStyle::kWaiting, "spin_a (/srv/app/work.py:10)"},
                         {102, "holding", TopStyle::kHolding, "spin_b (/srv/app/work.py:30)"},
                         {103, "running", TopStyle::kRunning, "hash_loop (/srv/app/hashing.py:5)"},
                         {104, "idle", TopStyle::kIdle, "sleep_forever (/srv/app/idle.py:3)"}}) {
    SCOPED_TRACE(c.tid);
    const ScreenLine* row = ThreadRowOf(lines, c.tid);
    ASSERT_NE(row, nullptr);
    bool found = false;
    for (const ScreenSegment& segment : *row) {
      if (segment.style == c.style && absl::StartsWith(segment.text, c.state)) found = true;
    }
    EXPECT_TRUE(found) << LineText(*row);
    EXPECT_TRUE(absl::EndsWith(LineText(*row), " " + c.function + "\n")) << LineText(*row);
  }
  // A thread gone from the latest sample says so; without a latest sample nothing is said.
  screen.latest.threads.erase(screen.latest.threads.begin());
  EXPECT_TRUE(absl::StrContains(LineText(*ThreadRowOf(screen.Render(), 101)), " gone"));
  const std::vector<ScreenLine> no_latest =
      RenderTopScreen(screen.profile, nullptr, screen.info, screen.controls, 200, 50);
  EXPECT_FALSE(absl::StrContains(LineText(*ThreadRowOf(no_latest, 102)), "spin_b"));
}

// own% and total% of a function row, read back from the screen.
std::map<std::string, std::pair<std::string, std::string>> FunctionRows(
    const std::vector<ScreenLine>& lines) {
  std::map<std::string, std::pair<std::string, std::string>> rows;
  bool in_list = false;
  for (const ScreenLine& line : lines) {
    const std::string text = LineText(line);
    if (absl::StrContains(text, "function (file:line)")) {
      in_list = true;
      continue;
    }
    if (!in_list) continue;
    const std::vector<std::string> fields =
        absl::StrSplit(absl::StripSuffix(text, "\n"), ' ', absl::SkipEmpty());
    if (fields.size() < 3) continue;
    rows[fields[2]] = {fields[0], fields[1]};
  }
  return rows;
}

TEST(TopScreenTest, FunctionListHasOwnAndTotalSharesOfTheView) {
  using Rows = std::map<std::string, std::pair<std::string, std::string>>;
  struct Case {
    ProfileMode mode;
    std::string title;
    Rows rows;
  };
  // Blame and gil: the holder's stack (one waiter each sample); wait: the waiter's.
  const std::vector<Case> cases = {
      {ProfileMode::kBlame,
       "blame: what the holder ran while others waited",
       {{"spin_a", {"75.0%", "75.0%"}},
        {"spin_b", {"25.0%", "25.0%"}},
        {"worker", {"0.0%", "100.0%"}},
        {"<module>", {"0.0%", "100.0%"}}}},
      {ProfileMode::kWait,
       "wait: where threads queue for the GIL",
       {{"spin_a", {"25.0%", "25.0%"}},
        {"spin_b", {"75.0%", "75.0%"}},
        {"worker", {"0.0%", "100.0%"}},
        {"<module>", {"0.0%", "100.0%"}}}},
      {ProfileMode::kGil,
       "gil: what ran holding the GIL",
       {{"spin_a", {"75.0%", "75.0%"}},
        {"spin_b", {"25.0%", "25.0%"}},
        {"worker", {"0.0%", "100.0%"}},
        {"<module>", {"0.0%", "100.0%"}}}},
      // The holder and the hasher (the waiter and the sleeper are off the CPU): 200
      // thread-samples.
      {ProfileMode::kCpu,
       "cpu: what ran on a CPU",
       {{"spin_a", {"37.5%", "37.5%"}},
        {"spin_b", {"12.5%", "12.5%"}},
        {"hash_loop", {"50.0%", "50.0%"}},
        {"run", {"0.0%", "50.0%"}},
        {"worker", {"0.0%", "50.0%"}},
        {"<module>", {"0.0%", "50.0%"}}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ProfileModeName(c.mode));
    Screen screen;
    screen.controls.mode = c.mode;
    const std::vector<ScreenLine> lines = screen.Render();
    EXPECT_NE(FindLine(lines, c.title), nullptr) << ScreenText(lines);
    EXPECT_NE(FindLine(lines, "v/1-5 view  s sort  t idle  g group  p pause  r reset  q quit"),
              nullptr);
    EXPECT_EQ(FunctionRows(lines), c.rows) << ScreenText(lines);
  }
}

TEST(TopScreenTest, EmptyViewSaysSo) {
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    Snapshot snapshot = Shape(i);
    snapshot.threads.erase(snapshot.threads.begin() + 1);  // spinner-1 alone: nobody waits
    snapshot.threads[0].state = ThreadState::kHoldingGil;
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  TopControls controls;
  controls.mode = ProfileMode::kWait;
  const std::string text = ScreenText(RenderTopScreen(profile, nullptr, Info(), controls, 100, 30));
  EXPECT_TRUE(absl::StrContains(text, "nothing in the wait view in this window")) << text;
}

// The function labels of the list, top to bottom.
std::vector<std::string> FunctionOrder(const std::vector<ScreenLine>& lines) {
  std::vector<std::string> order;
  bool in_list = false;
  for (const ScreenLine& line : lines) {
    const std::string text = LineText(line);
    if (absl::StrContains(text, "function (file:line)")) {
      in_list = true;
    } else if (in_list) {
      const std::vector<std::string> fields = absl::StrSplit(text, ' ', absl::SkipEmpty());
      if (fields.size() >= 3) order.push_back(fields[2]);
    }
  }
  return order;
}

TEST(TopScreenTest, SortTogglesBetweenOwnAndTotal) {
  Screen screen;
  screen.controls.sort = TopSort::kOwn;
  const std::vector<ScreenLine> by_own = screen.Render();
  EXPECT_NE(FindLine(by_own, "OWN%  total%"), nullptr);
  EXPECT_EQ(FunctionOrder(by_own).front(), "spin_a");
  screen.controls.sort = TopSort::kTotal;
  const std::vector<ScreenLine> by_total = screen.Render();
  EXPECT_NE(FindLine(by_total, "own%  TOTAL%"), nullptr);
  const std::vector<std::string> order = FunctionOrder(by_total);
  ASSERT_EQ(order.size(), 4u);
  // worker and <module> (100% each, no own) first, then spin_a (75%) and spin_b.
  EXPECT_EQ(std::set<std::string>(order.begin(), order.begin() + 2),
            (std::set<std::string>{"worker", "<module>"}));
  EXPECT_EQ(order[2], "spin_a");
  EXPECT_EQ(order[3], "spin_b");
}

TEST(TopScreenTest, IdleThreadsCanBeHidden) {
  Screen screen;
  screen.controls.show_idle = false;
  const std::vector<ScreenLine> lines = screen.Render();
  EXPECT_EQ(ThreadRowOf(lines, 104), nullptr);
  EXPECT_NE(ThreadRowOf(lines, 103), nullptr);  // running without the GIL is not idle
  EXPECT_NE(FindLine(lines, "1 idle thread hidden (t to show)"), nullptr);
  screen.controls.show_idle = true;
  EXPECT_EQ(FindLine(screen.Render(), "hidden"), nullptr);
}

TEST(TopScreenTest, FrozenDisplayIsMarkedEvenWhenTheCommandLineIsLong) {
  Screen screen;
  screen.controls.frozen = true;
  screen.info.command_line = std::string(300, 'x');
  for (int width : {200, 80, 45}) {
    SCOPED_TRACE(width);
    const std::vector<ScreenLine> lines = screen.Render(width, 30);
    EXPECT_TRUE(absl::EndsWith(LineText(lines.front()), "[paused display]\n"))
        << LineText(lines.front());
    EXPECT_EQ(lines.front().back().style, TopStyle::kWarning);
    EXPECT_LE(LineWidth(lines.front()), static_cast<size_t>(width));
  }
}

TEST(TopScreenTest, StatusIsTheLastLineHighlighted) {
  Screen screen;
  screen.info.status = "target exited (status 0): last screen kept; press q";
  for (int height : {50, 12}) {
    const std::vector<ScreenLine> lines = screen.Render(100, height);
    ASSERT_FALSE(lines.empty());
    EXPECT_LE(lines.size(), static_cast<size_t>(height));
    EXPECT_EQ(LineText(lines.back()), screen.info.status + "\n");
    EXPECT_EQ(lines.back().front().style, TopStyle::kWarning);
  }
}

TEST(TopScreenTest, NarrowScreensDropColumnsNeverWrap) {
  struct Case {
    int width;
    bool bar, percents;
  };
  for (const Case& c : std::vector<Case>{{200, true, true},
                                         {80, true, true},
                                         {79, false, true},
                                         {60, false, true},
                                         {45, false, false},
                                         {40, false, false}}) {
    SCOPED_TRACE(c.width);
    const std::vector<ScreenLine> lines = Screen().Render(c.width, 40);
    for (const ScreenLine& line : lines)
      EXPECT_LE(LineWidth(line), static_cast<size_t>(c.width)) << LineText(line);
    const ScreenLine* row = ThreadRowOf(lines, 101);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(CellsOf(*row, TopStyle::kHolding, '#') > 0, c.bar) << LineText(*row);
    EXPECT_EQ(absl::StrContains(LineText(*row), "75%"), c.percents) << LineText(*row);
    EXPECT_TRUE(absl::StrContains(LineText(*row), "waiting")) << LineText(*row);
    // The function list keeps every function's name.
    const std::vector<std::string> order = FunctionOrder(lines);
    EXPECT_EQ(std::set<std::string>(order.begin(), order.end()),
              (std::set<std::string>{"spin_a", "spin_b", "worker", "<module>"}));
  }
}

TEST(TopScreenTest, TooSmallTerminalGetsOneLine) {
  for (const auto& [width, height] :
       std::vector<std::pair<int, int>>{{30, 40}, {39, 40}, {100, 9}, {12, 5}}) {
    SCOPED_TRACE(absl::StrCat(width, "x", height));
    const std::vector<ScreenLine> lines = Screen().Render(width, height);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_LE(LineWidth(lines[0]), static_cast<size_t>(width));
    EXPECT_TRUE(absl::StrContains(LineText(lines[0]), "40x10")) << LineText(lines[0]);
  }
  EXPECT_EQ(LineText(Screen().Render(100, 9)[0]),
            "terminal too small (100x9): need at least 40x10\n");
  EXPECT_EQ(LineText(Screen().Render(30, 40)[0]), "terminal too small: need 40x10\n");
  EXPECT_TRUE(Screen().Render(0, 10).empty());
}

TEST(TopScreenTest, RowsAreCutToTheHeight) {
  Profile profile;
  constexpr int kThreads = 30;
  for (int i = 0; i < 20; ++i) {
    Snapshot snapshot;
    for (int t = 0; t < kThreads; ++t) {
      snapshot.threads.push_back(
          Thread(1000 + t, absl::StrCat("busy-", t),
                 t == i % kThreads ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil,
                 {{absl::StrCat("work_", t), "/srv/app/many.py", t + 1}}));
    }
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  TopControls by_thread;  // "busy-N" threads would be one group
  by_thread.by_thread = true;
  for (int height : {10, 20, 30}) {
    SCOPED_TRACE(height);
    const std::vector<ScreenLine> lines =
        RenderTopScreen(profile, nullptr, Info(), by_thread, 100, height);
    EXPECT_EQ(lines.size(), static_cast<size_t>(height)) << ScreenText(lines);
    size_t rows = 0;
    for (int t = 0; t < kThreads; ++t) rows += ThreadRowOf(lines, 1000 + t) != nullptr ? 1 : 0;
    EXPECT_GE(rows, 1u);
    const ScreenLine* more =
        FindLine(lines, absl::StrFormat("... and %d more threads", kThreads - rows));
    EXPECT_NE(more, nullptr) << ScreenText(lines);
    EXPECT_FALSE(FunctionOrder(lines).empty()) << ScreenText(lines);
  }
}

// No byte a terminal would act on: C0 controls, DEL, and C1 controls (UTF-8 C2 80..C2 9F).
bool HasControl(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F)
      return true;
  }
  return false;
}

TEST(TopScreenTest, HostileNamesReachNoTerminalAsControls) {
  const std::string evil = "ev\x1b[31mil\x07\r\n\x9b\xc2\x9b\x7f";
  Profile profile;
  Snapshot snapshot;
  for (int i = 0; i < 5; ++i) {
    snapshot = Snapshot();
    snapshot.threads = {
        Thread(7, evil, ThreadState::kHoldingGil, {{"f" + evil, "/tmp/" + evil + ".py", 3}}),
        Thread(8, "\x1b]0;title\x07", ThreadState::kWaitingForGil, {{"g\r\n", "x\x1b.py", 4}})};
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  TopInfo info = Info();
  info.command_line = "python \x1b[2J\x1b]0;pwned\x07 app.py";
  info.python_version = "3.12\x1b[1m";
  info.status = "exited\r\n\x1b[0m";
  snapshot = Settled(snapshot);
  for (ProfileMode mode : kAllModes) {
    for (int width : {200, 60}) {
      TopControls controls;
      controls.mode = mode;
      const std::vector<ScreenLine> lines =
          RenderTopScreen(profile, &snapshot, info, controls, width, 40);
      for (const ScreenLine& line : lines) {
        for (const ScreenSegment& segment : line) {
          EXPECT_FALSE(HasControl(segment.text)) << segment.text;
          EXPECT_EQ(TerminalSafe(segment.text), segment.text);  // valid UTF-8 throughout
        }
      }
      if (width == 200) {
        // The function now column has the room for the name, escaped.
        const std::string text = ScreenText(lines);
        EXPECT_TRUE(absl::StrContains(text, "fev\\x1b[31mil\\x07\\x0d\\x0a\\x9b\\xc2\\x9b\\x7f"))
            << text;
      }
    }
  }
}

TEST(TopScreenTest, WideCharactersAreCutOnCodePoints) {
  Screen screen;
  screen.profile = Profile();
  for (int i = 0; i < 4; ++i) {
    Snapshot snapshot = Shape(i);
    snapshot.threads[0].name = "работник-с-очень-длинным-именем";
    snapshot.threads[0].frames[0].function = "считать_" + std::string(40, 'x');
    AddSettled(screen.profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  for (int width : {200, 80, 45}) {
    for (const ScreenLine& line : screen.Render(width, 30)) {
      EXPECT_LE(LineWidth(line), static_cast<size_t>(width)) << LineText(line);
      for (const ScreenSegment& segment : line) EXPECT_EQ(TerminalSafe(segment.text), segment.text);
    }
  }
  const std::vector<ScreenLine> lines = screen.Render(200, 30);
  const ScreenLine* row = ThreadRowOf(lines, 101);
  ASSERT_NE(row, nullptr);
  EXPECT_TRUE(absl::StrContains(LineText(*row), " работник-с-очень-дли")) << LineText(*row);
}

TEST(TopScreenTest, SeveralGilsGetALineEach) {
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    Snapshot snapshot;
    ThreadSnapshot main = Thread(1, "main", ThreadState::kHoldingGil, {{"spin", "/a.py", 1}});
    main.interpreter_id = 0;
    main.gil_index = 0;
    ThreadSnapshot sub =
        Thread(2, "sub", i % 2 == 0 ? ThreadState::kHoldingGil : ThreadState::kIdle,
               {{"sub_spin", "/b.py", 2}});
    sub.interpreter_id = 1;
    sub.gil_index = 1;
    snapshot.threads = {main, sub};
    GilSnapshot second;
    second.interpreter_id = 1;
    snapshot.gils = {GilSnapshot{}, second};
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  const std::string text = ScreenText(RenderTopScreen(profile, nullptr, Info(), {}, 200, 40));
  EXPECT_TRUE(absl::StrContains(text, "  GIL of interpreter 0: held 100%  contention 0%")) << text;
  EXPECT_TRUE(absl::StrContains(text, "  GIL of interpreter 1: held 50%  contention 0%")) << text;
}

TEST(TopScreenTest, EmptyWindowWaitsForSamples) {
  TopControls controls;
  controls.frozen = true;
  TopInfo info = Info();
  info.status = "starting";
  const std::vector<ScreenLine> lines = RenderTopScreen(Profile(), nullptr, info, controls, 80, 24);
  const std::string text = ScreenText(lines);
  EXPECT_TRUE(absl::StrContains(text, "waiting for samples\u2026")) << text;
  EXPECT_TRUE(absl::StrContains(text, "rate 98/100 Hz, window 10 s, 0 samples")) << text;
  EXPECT_FALSE(absl::StrContains(text, "OS id"));
  EXPECT_FALSE(absl::StrContains(text, "verdict"));
  EXPECT_EQ(LineText(lines.back()), "starting\n");
}

TEST(TopScreenTest, ViewKeys) {
  std::vector<ProfileMode> cycle = {ProfileMode::kBlame};
  for (int i = 0; i < 5; ++i) cycle.push_back(NextTopMode(cycle.back()));
  EXPECT_EQ(cycle,
            (std::vector<ProfileMode>{ProfileMode::kBlame, ProfileMode::kWait, ProfileMode::kGil,
                                      ProfileMode::kWall, ProfileMode::kCpu, ProfileMode::kBlame}));
  EXPECT_EQ(TopModeForKey('1'), ProfileMode::kBlame);
  EXPECT_EQ(TopModeForKey('3'), ProfileMode::kGil);
  EXPECT_EQ(TopModeForKey('5'), ProfileMode::kCpu);
  EXPECT_EQ(TopModeForKey('0'), std::nullopt);
  EXPECT_EQ(TopModeForKey('6'), std::nullopt);
  EXPECT_EQ(TopModeForKey('v'), std::nullopt);
}

}  // namespace
}  // namespace gilscope
