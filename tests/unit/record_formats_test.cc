// The `record` outputs besides the SVG: collapsed stacks, speedscope JSON, and the summary as
// text and JSON, over small synthetic profiles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/stack_labels.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromUnixSeconds(1000);

ThreadSnapshot Thread(pid_t tid, ThreadState state, const std::string& leaf,
                      const std::string& name = "") {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.name = name;
  thread.state = state;
  thread.frames = {{leaf, "/app.py", 10}, {"<module>", "/app.py", 1}};
  return thread;
}

ThreadSnapshot NoFrames(pid_t tid, ThreadState state) {
  ThreadSnapshot thread = Thread(tid, state, "unused");
  thread.frames.clear();
  return thread;
}

Snapshot Sample(std::vector<ThreadSnapshot> threads, std::optional<uint64_t> switch_number = {}) {
  Snapshot snapshot;
  snapshot.threads = std::move(threads);
  snapshot.gils.push_back(GilSnapshot{});
  snapshot.gils[0].switch_number = switch_number;
  return snapshot;
}

// 3 samples of "hog" holding while "queue" waits, 1 of a frameless thread running without it.
Profile SmallProfile() {
  Profile profile;
  for (int i = 0; i < 3; ++i) {
    AddSettled(profile,
               Sample({Thread(1, ThreadState::kHoldingGil, "hog"),
                       Thread(2, ThreadState::kWaitingForGil, "queue")}),
               kStart + absl::Milliseconds(10 * i));
  }
  AddSettled(profile, Sample({NoFrames(3, ThreadState::kRunningWithoutGil)}),
             kStart + absl::Milliseconds(30));
  return profile;
}

// Two threads spinning in Python, taking turns with the GIL: 10 samples 10 ms apart, CPython's
// switch counter advancing 5 per sample when `with_switches`.
Profile TwoSpinners(bool with_switches) {
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    const bool first_holds = i % 2 == 0;
    std::optional<uint64_t> switches;
    if (with_switches) switches = 100 + 5 * i;
    AddSettled(
        profile,
        Sample({Thread(101, first_holds ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil,
                       "spin_a", "spinner-a"),
                Thread(102, first_holds ? ThreadState::kWaitingForGil : ThreadState::kHoldingGil,
                       "spin_b", "spinner-b")},
               switches),
        kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

RecordingInfo Info(ProfileMode mode) {
  RecordingInfo info;
  info.pid = 4242;
  info.python_version = "3.12.1";
  info.command_line = "python3 spin.py";
  info.mode = mode;
  info.rate_hz = 100;
  info.end_reason = "duration reached";
  return info;
}

std::string Collapsed(const Profile& profile, ProfileMode mode) {
  std::ostringstream out;
  WriteCollapsed(profile, Info(mode), out);
  return out.str();
}

// How flamegraph.pl and inferno read a folded line: the count after the last space, then frames.
using FoldedStacks = std::vector<std::pair<std::vector<std::string>, int64_t>>;
FoldedStacks ParseFolded(const std::string& text) {
  FoldedStacks stacks;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t space = line.rfind(' ');
    EXPECT_NE(space, absl::string_view::npos) << line;
    if (space == absl::string_view::npos) continue;
    stacks.emplace_back(absl::StrSplit(line.substr(0, space), ';'),
                        std::stoll(std::string(line.substr(space + 1))));
  }
  return stacks;
}

bool HasRawControlBytes(const std::string& text, bool allow_newline) {
  return std::any_of(text.begin(), text.end(), [&](char c) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (allow_newline && byte == '\n') return false;
    return byte < 0x20 || byte == 0x7f || byte == 0xff;
  });
}

TEST(CollapsedTest, GivesRootFirstLinesWithCounts) {
  const Profile profile = SmallProfile();
  EXPECT_EQ(Collapsed(profile, ProfileMode::kBlame), "<module> (/app.py:1);hog (/app.py:10) 3\n");
  EXPECT_EQ(Collapsed(profile, ProfileMode::kWait), "<module> (/app.py:1);queue (/app.py:10) 3\n");
}

TEST(CollapsedTest, WallEndsEachStackWithItsState) {
  EXPECT_EQ(Collapsed(SmallProfile(), ProfileMode::kWall),
            "<module> (/app.py:1);hog (/app.py:10);[holding GIL] 3\n"
            "<module> (/app.py:1);queue (/app.py:10);[waiting for GIL] 3\n"
            "<no Python frames>;[running without GIL] 1\n");
}

TEST(CollapsedTest, EmptyViewWritesNothing) {
  Profile profile;
  AddSettled(profile, Sample({Thread(1, ThreadState::kHoldingGil, "alone")}), kStart);
  EXPECT_EQ(Collapsed(profile, ProfileMode::kBlame), "");
  EXPECT_EQ(Collapsed(Profile(), ProfileMode::kWall), "");
}

TEST(CollapsedTest, RoundTripsEveryView) {
  const Profile profile = SmallProfile();
  for (ProfileMode mode : kAllModes) {
    SCOPED_TRACE(ProfileModeName(mode));
    FoldedStacks expected;
    for (const ViewStack& stack : ViewStacks(profile, mode)) {
      std::vector<std::string> frames;
      for (FrameId id : stack.frames) frames.push_back(FrameLabel(profile.stacks().frame(id)));
      if (frames.empty()) frames.push_back(kNoPythonFramesLabel);
      if (ViewTagsState(mode)) frames.push_back(StateFrameLabel(stack.state));
      expected.emplace_back(std::move(frames), stack.weight);
    }
    EXPECT_EQ(ParseFolded(Collapsed(profile, mode)), expected);
  }
}

TEST(CollapsedTest, HostileNameStaysOneFrameOnOneLine) {
  Profile profile;
  const std::string hostile = "evil;name\nnext\x1b[2J\xff";
  AddSettled(profile, Sample({Thread(1, ThreadState::kHoldingGil, hostile)}), kStart);
  const std::string text = Collapsed(profile, ProfileMode::kWall);
  EXPECT_FALSE(HasRawControlBytes(text, /*allow_newline=*/true)) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  const FoldedStacks stacks = ParseFolded(text);
  ASSERT_EQ(stacks.size(), 1u);
  EXPECT_EQ(stacks[0].second, 1);
  ASSERT_EQ(stacks[0].first.size(), 3u);  // <module>, the hostile leaf, [holding GIL]
  EXPECT_EQ(stacks[0].first[1], "evil:name\\x0anext\\x1b[2J\\xff (/app.py:10)");
  EXPECT_EQ(stacks[0].first[2], "[holding GIL]");
}

nlohmann::json Speedscope(const Profile& profile, ProfileMode mode) {
  std::ostringstream out;
  WriteSpeedscope(profile, Info(mode), out);
  return nlohmann::json::parse(out.str());
}

TEST(SpeedscopeTest, HasEveryViewInOrderWithConsistentSamples) {
  const Profile profile = SmallProfile();
  const nlohmann::json json = Speedscope(profile, ProfileMode::kWall);
  EXPECT_EQ(json["$schema"], "https://www.speedscope.app/file-format-schema.json");
  EXPECT_EQ(json["exporter"], "gilscope");
  EXPECT_EQ(json["activeProfileIndex"], 3);
  const nlohmann::json& frames = json["shared"]["frames"];
  ASSERT_EQ(json["profiles"].size(), kAllModes.size());
  for (size_t i = 0; i < kAllModes.size(); ++i) {
    SCOPED_TRACE(ProfileModeName(kAllModes[i]));
    const nlohmann::json& view = json["profiles"][i];
    EXPECT_EQ(view["type"], "sampled");
    EXPECT_EQ(view["unit"], "none");
    EXPECT_THAT(view["name"].get<std::string>(),
                ::testing::StartsWith(ProfileModeName(kAllModes[i])));
    ASSERT_EQ(view["samples"].size(), view["weights"].size());
    int64_t sum = 0;
    for (const nlohmann::json& weight : view["weights"]) sum += weight.get<int64_t>();
    EXPECT_EQ(view["startValue"], 0);
    EXPECT_EQ(view["endValue"].get<int64_t>(), sum);
    EXPECT_EQ(sum, TotalWeight(ViewStacks(profile, kAllModes[i])));
    for (const nlohmann::json& sample : view["samples"]) {
      for (const nlohmann::json& index : sample) EXPECT_LT(index.get<size_t>(), frames.size());
    }
  }
  for (size_t i = 0; i < kAllModes.size(); ++i) {
    EXPECT_EQ(Speedscope(profile, kAllModes[i])["activeProfileIndex"], i);
  }
}

TEST(SpeedscopeTest, SharesFramesAndNamesPseudoFrames) {
  const nlohmann::json json = Speedscope(SmallProfile(), ProfileMode::kBlame);
  const nlohmann::json& frames = json["shared"]["frames"];
  std::vector<std::string> names;
  for (const nlohmann::json& frame : frames) names.push_back(frame["name"]);
  // <module>, hog, queue, and the pseudo-frames: each once.
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("<module>", "hog", "queue", "[holding GIL]",
                                                     "[waiting for GIL]", "<no Python frames>",
                                                     "[running without GIL]"));
  const nlohmann::json& blame = json["profiles"][0];
  ASSERT_EQ(blame["samples"].size(), 1u);
  const nlohmann::json& stack = blame["samples"][0];
  ASSERT_EQ(stack.size(), 2u);
  EXPECT_EQ(frames[stack[0].get<size_t>()]["name"], "<module>");  // root first
  EXPECT_EQ(frames[stack[1].get<size_t>()]["name"], "hog");
  EXPECT_EQ(frames[stack[1].get<size_t>()]["file"], "/app.py");
  EXPECT_EQ(frames[stack[1].get<size_t>()]["line"], 10);
  EXPECT_EQ(blame["weights"][0], 3);
}

TEST(SpeedscopeTest, OmitsUnknownLinesAndSurvivesInvalidUtf8) {
  Profile profile;
  ThreadSnapshot thread = Thread(1, ThreadState::kHoldingGil, "bad\xff\x1b[2J");
  thread.frames[0].line = -1;
  AddSettled(profile, Sample({thread}), kStart);
  const nlohmann::json json = Speedscope(profile, ProfileMode::kGil);
  bool found = false;
  for (const nlohmann::json& frame : json["shared"]["frames"]) {
    if (frame["name"].get<std::string>().rfind("bad", 0) != 0) continue;
    found = true;
    EXPECT_FALSE(frame.contains("line"));
    EXPECT_EQ(frame["name"], "bad\xef\xbf\xbd\x1b[2J");  // U+FFFD; ESC escaped by JSON itself
  }
  EXPECT_TRUE(found);
}

nlohmann::json SummaryJson(const Profile& profile) {
  std::ostringstream out;
  WriteSummaryJson(profile, Info(ProfileMode::kBlame), out);
  EXPECT_EQ(out.str().back(), '\n');
  return nlohmann::json::parse(out.str());
}

TEST(SummaryJsonTest, TwoSpinnersAreCpuBound) {
  const nlohmann::json json = SummaryJson(TwoSpinners(/*with_switches=*/true));
  EXPECT_EQ(json["pid"], 4242);
  EXPECT_EQ(json["python_version"], "3.12.1");
  EXPECT_EQ(json["mode"], "blame");
  EXPECT_EQ(json["rate_hz"], 100.0);
  EXPECT_EQ(json["paused"], true);
  EXPECT_EQ(json["native"], false);
  EXPECT_EQ(json["late_samples"], 0);
  EXPECT_EQ(json["missed_samples"], 0);
  EXPECT_EQ(json["end_reason"], "duration reached");
  EXPECT_EQ(json["samples"], 10);
  EXPECT_EQ(json["errors"], 0);
  EXPECT_DOUBLE_EQ(json["duration_s"].get<double>(), 0.09);
  EXPECT_DOUBLE_EQ(json["gil_held"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["contention"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["mean_waiters"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["held_in_native"].get<double>(), 0.0);
  EXPECT_NEAR(json["switches_per_s"].get<double>(), 500.0, 1e-9);  // 45 hand-offs in 90 ms
  EXPECT_NEAR(json["mean_hold_ms"].get<double>(), 2.0, 1e-9);
  EXPECT_EQ(json["verdict"], "python_cpu_bound");
  EXPECT_EQ(json["verdict_advice"], VerdictAdvice(Verdict::kPythonCpuBound));
  EXPECT_EQ(json["verdict_reason"],
            "GIL contended in 100% of samples (>= 20%); holder in native code in 0% of them "
            "(< 50%)");

  ASSERT_EQ(json["threads"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const nlohmann::json& thread = json["threads"][i];
    EXPECT_EQ(thread["native_id"], 101 + static_cast<int>(i));
    EXPECT_EQ(thread["name"], i == 0 ? "spinner-a" : "spinner-b");
    EXPECT_EQ(thread["samples"], 10);
    EXPECT_DOUBLE_EQ(thread["held"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(thread["held_in_native"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(thread["waiting"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(thread["running_without_gil"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(thread["idle"].get<double>(), 0.0);
  }
  for (const char* key : {"top_blame", "top_waiting"}) {
    SCOPED_TRACE(key);
    const nlohmann::json& sites = json[key];
    ASSERT_EQ(sites.size(), 2u);
    for (const nlohmann::json& site : sites) {
      EXPECT_THAT(site["function"].get<std::string>(), ::testing::AnyOf("spin_a", "spin_b"));
      EXPECT_EQ(site["file"], "/app.py");
      EXPECT_EQ(site["line"], 10);
      EXPECT_EQ(site["weight"], 5);
      EXPECT_DOUBLE_EQ(site["share"].get<double>(), 0.5);
    }
  }
}

TEST(SummaryJsonTest, SwitchFiguresAreNullWithoutCounter) {
  const nlohmann::json json = SummaryJson(TwoSpinners(/*with_switches=*/false));
  ASSERT_TRUE(json.contains("switches_per_s"));
  EXPECT_TRUE(json["switches_per_s"].is_null());
  EXPECT_TRUE(json["mean_hold_ms"].is_null());
  EXPECT_EQ(json["verdict"], "python_cpu_bound");
}

TEST(SummaryJsonTest, EmptyProfileIsIdle) {
  const nlohmann::json json = SummaryJson(Profile());
  EXPECT_EQ(json["samples"], 0);
  EXPECT_EQ(json["verdict"], "idle");
  EXPECT_TRUE(json["threads"].empty());
  EXPECT_TRUE(json["top_blame"].empty());
}

std::string SummaryText(const Profile& profile, RecordingInfo info = Info(ProfileMode::kBlame)) {
  std::ostringstream out;
  WriteSummaryText(profile, info, out);
  return out.str();
}

TEST(SummaryTextTest, NamesVerdictThreadsAndSites) {
  RecordingInfo info = Info(ProfileMode::kBlame);
  info.late_samples = 3;
  const std::string text = SummaryText(TwoSpinners(/*with_switches=*/true), info);
  EXPECT_THAT(text, HasSubstr("10 samples"));
  EXPECT_THAT(text, HasSubstr("3 samples late"));
  EXPECT_THAT(text, HasSubstr("GIL held in 100.0% of samples; contended in 100.0%"));
  EXPECT_THAT(text, HasSubstr("GIL hand-offs: 500.0/s, mean hold 2.00 ms"));
  EXPECT_THAT(text, HasSubstr("     101   50.0%    0.0%   50.0%    0.0%    0.0%  spinner-a\n"));
  EXPECT_THAT(text, HasSubstr("     102   50.0%    0.0%   50.0%    0.0%    0.0%  spinner-b\n"));
  EXPECT_THAT(text, HasSubstr("   50.0%  spin_a (/app.py:10)\n"));
  EXPECT_THAT(text, HasSubstr("\nVerdict: python_cpu_bound \u2014 "));
  EXPECT_THAT(text, HasSubstr(VerdictAdvice(Verdict::kPythonCpuBound)));
  EXPECT_THAT(text, HasSubstr("\n  because: GIL contended in 100% of samples (>= 20%); holder in "
                              "native code in 0% of them (< 50%)\n"));
  const size_t lines = std::count(text.begin(), text.end(), '\n');
  EXPECT_LE(lines, 30u) << text;
}

TEST(SummaryTextTest, SaysWhenSwitchCounterIsMissing) {
  EXPECT_THAT(SummaryText(TwoSpinners(/*with_switches=*/false)),
              HasSubstr("GIL hand-offs: not available on this Python version"));
}

TEST(SummaryTextTest, EscapesHostileNames) {
  Profile profile;
  AddSettled(profile,
             Sample({Thread(7, ThreadState::kHoldingGil, "f\x1b[2J\xff", "evil\x1b[2J\nname"),
                     Thread(8, ThreadState::kWaitingForGil, "wait\x07")}),
             kStart);
  const std::string text = SummaryText(profile);
  EXPECT_FALSE(HasRawControlBytes(text, /*allow_newline=*/true)) << text;
  EXPECT_THAT(text, HasSubstr("evil\\x1b[2J\\x0aname\n"));
  EXPECT_THAT(text, HasSubstr("f\\x1b[2J\\xff (/app.py:10)"));
  EXPECT_THAT(text, HasSubstr("wait\\x07 (/app.py:10)"));
}

TEST(SummaryTextTest, SaysPlainlyWhenNothingWasSampled) {
  const std::string text = SummaryText(Profile());
  EXPECT_THAT(text, HasSubstr("No samples were taken"));
  EXPECT_THAT(text, Not(HasSubstr("Verdict")));
}

TEST(SummaryTextTest, SaysOnceThatSamplingFellBehindAndWhy) {
  RecordingInfo info = Info(ProfileMode::kBlame);
  info.late_samples = 2;
  info.missed_samples = 5;
  info.scheduled_samples = 20;
  const std::string text = SummaryText(TwoSpinners(/*with_switches=*/true), info);
  EXPECT_THAT(text, HasSubstr("  sampling fell behind: 2 samples late, 5 of 20 scheduled samples "
                              "were skipped; a sample of this target costs more than 1/100 s "
                              "(try a lower --rate or --nonblocking)\n"));
  EXPECT_EQ(text.find("fell behind"), text.rfind("fell behind")) << text;
}

TEST(SummaryTextTest, SaysHowLongThePausedTargetWasStopped) {
  RecordingInfo info = Info(ProfileMode::kBlame);
  info.paused = true;
  info.elapsed = absl::Seconds(1);
  info.paused_total = absl::Milliseconds(50);
  EXPECT_THAT(SummaryText(TwoSpinners(/*with_switches=*/true), info),
              HasSubstr("\nTarget paused 5.00% of the time (5000 us per sample)\n"));
  info.paused = false;
  EXPECT_THAT(SummaryText(TwoSpinners(/*with_switches=*/true), info),
              Not(HasSubstr("Target paused")));
}

TEST(SummaryTextTest, ComparesHandOffsWithTheUnobservedWindowBeforeSampling) {
  RecordingInfo info = Info(ProfileMode::kBlame);
  EXPECT_THAT(SummaryText(TwoSpinners(/*with_switches=*/true), info),
              Not(HasSubstr("Observer effect")));  // not measured
  info.unobserved_switches_per_s = 400.0;
  info.unobserved_window = absl::Milliseconds(250);
  // The recording's own rate: 500 hand-offs/s.
  EXPECT_THAT(SummaryText(TwoSpinners(/*with_switches=*/true), info),
              HasSubstr("\nObserver effect: GIL hand-offs 500.0/s while sampled, 400.0/s in "
                        "0.25 s unobserved before (+25%)\n"));
  // A version without a switch counter has nothing to compare.
  EXPECT_THAT(SummaryText(TwoSpinners(/*with_switches=*/false), info),
              Not(HasSubstr("Observer effect")));
}

TEST(SummaryJsonTest, CarriesTheUnobservedHandOffRate) {
  RecordingInfo info = Info(ProfileMode::kBlame);
  std::ostringstream unmeasured;
  WriteSummaryJson(TwoSpinners(/*with_switches=*/true), info, unmeasured);
  nlohmann::json json = nlohmann::json::parse(unmeasured.str());
  EXPECT_TRUE(json["unobserved_switches_per_s"].is_null());
  EXPECT_TRUE(json["unobserved_window_s"].is_null());
  info.unobserved_switches_per_s = 400.0;
  info.unobserved_window = absl::Milliseconds(250);
  std::ostringstream measured;
  WriteSummaryJson(TwoSpinners(/*with_switches=*/true), info, measured);
  json = nlohmann::json::parse(measured.str());
  EXPECT_DOUBLE_EQ(json["unobserved_switches_per_s"].get<double>(), 400.0);
  EXPECT_DOUBLE_EQ(json["unobserved_window_s"].get<double>(), 0.25);
}

// --- Subinterpreters and free-threaded builds ---------------------------------------------

ThreadSnapshot In(ThreadSnapshot thread, int64_t interpreter_id, int gil_index) {
  thread.interpreter_id = interpreter_id;
  thread.gil_index = gil_index;
  return thread;
}

// Interpreter 1 has its own GIL, held by "spin_one" while another thread waits; legacy
// interpreter 3 shares the main interpreter's GIL, held by "spin_three" while another waits.
// 10 samples 10 ms apart; GIL 1's counter advances 2 per sample, the main one's 1.
Profile Subinterpreters() {
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    Snapshot snapshot;
    snapshot.threads = {In(Thread(1, ThreadState::kIdle, "main", "MainThread"), 0, 0),
                        In(Thread(11, ThreadState::kHoldingGil, "spin_one"), 1, 1),
                        In(Thread(12, ThreadState::kWaitingForGil, "spin_one"), 1, 1),
                        In(Thread(31, ThreadState::kHoldingGil, "spin_three"), 3, 0),
                        In(Thread(32, ThreadState::kWaitingForGil, "spin_three"), 3, 0)};
    snapshot.threads[0].blocked_in = "clock_nanosleep";
    snapshot.gils.resize(2);
    snapshot.gils[0].interpreter_id = 0;
    snapshot.gils[0].switch_number = 10 + i;
    snapshot.gils[1].interpreter_id = 1;
    snapshot.gils[1].switch_number = 100 + 2 * i;
    snapshot.interpreters = {{0, 0}, {1, 1}, {3, 0}};
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

// A free-threaded build without its GIL: two threads running Python on CPUs.
Profile NoGil() {
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    Snapshot snapshot = Sample({Thread(1, ThreadState::kRunningWithoutGil, "work"),
                                Thread(2, ThreadState::kRunningWithoutGil, "work")});
    snapshot.gils[0].enabled = false;
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

RecordingInfo ByInterpreterInfo(ProfileMode mode) {
  RecordingInfo info = Info(mode);
  info.by_interpreter = true;
  return info;
}

TEST(CollapsedTest, ByInterpreterPutsTheInterpreterAtTheRoot) {
  std::ostringstream out;
  WriteCollapsed(Subinterpreters(), ByInterpreterInfo(ProfileMode::kBlame), out);
  EXPECT_EQ(out.str(),
            "interpreter 1;<module> (/app.py:1);spin_one (/app.py:10) 10\n"
            "interpreter 3;<module> (/app.py:1);spin_three (/app.py:10) 10\n");
  // Unsplit, the same code in two interpreters is one stack.
  EXPECT_EQ(Collapsed(Subinterpreters(), ProfileMode::kWait),
            "<module> (/app.py:1);spin_one (/app.py:10) 10\n"
            "<module> (/app.py:1);spin_three (/app.py:10) 10\n");
}

TEST(CollapsedTest, ByInterpreterKeepsThePseudoFramesOfFramelessThreads) {
  Profile profile;
  Snapshot snapshot = Sample({In(NoFrames(5, ThreadState::kRunningWithoutGil), 2, 0)});
  AddSettled(profile, snapshot, kStart);
  std::ostringstream out;
  WriteCollapsed(profile, ByInterpreterInfo(ProfileMode::kCpu), out);
  EXPECT_EQ(out.str(), "interpreter 2;<no Python frames>;[running without GIL] 1\n");
}

TEST(SpeedscopeTest, ByInterpreterStartsEachSampleAtItsInterpreter) {
  std::ostringstream out;
  WriteSpeedscope(Subinterpreters(), ByInterpreterInfo(ProfileMode::kGil), out);
  const nlohmann::json json = nlohmann::json::parse(out.str());
  const nlohmann::json& frames = json["shared"]["frames"];
  std::vector<std::string> roots;
  for (const nlohmann::json& profile : json["profiles"]) {
    if (profile["name"].get<std::string>().rfind("gil:", 0) != 0) continue;
    for (const nlohmann::json& sample : profile["samples"]) {
      roots.push_back(frames[sample[0].get<size_t>()]["name"]);
    }
  }
  std::sort(roots.begin(), roots.end());
  EXPECT_EQ(roots, (std::vector<std::string>{"interpreter 1", "interpreter 3"}));
}

TEST(SummaryJsonTest, GivesFiguresPerGilAndEachThreadsInterpreter) {
  RecordingInfo info = ByInterpreterInfo(ProfileMode::kBlame);
  std::ostringstream out;
  WriteSummaryJson(Subinterpreters(), info, out);
  const nlohmann::json json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["by_interpreter"], true);
  EXPECT_EQ(json["gil_enabled"], true);
  EXPECT_EQ(json["interpreters"], nlohmann::json({0, 1, 3}));
  ASSERT_EQ(json["gils"].size(), 2u);
  const nlohmann::json& main_gil = json["gils"][0];
  EXPECT_EQ(main_gil["interpreter_id"], 0);
  EXPECT_EQ(main_gil["interpreter_ids"], nlohmann::json({0, 3}));
  EXPECT_EQ(main_gil["samples"], 10);
  EXPECT_DOUBLE_EQ(main_gil["held"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(main_gil["contention"].get<double>(), 1.0);
  EXPECT_NEAR(main_gil["switches_per_s"].get<double>(), 100.0, 1e-9);
  const nlohmann::json& own_gil = json["gils"][1];
  EXPECT_EQ(own_gil["interpreter_ids"], nlohmann::json({1}));
  EXPECT_NEAR(own_gil["switches_per_s"].get<double>(), 200.0, 1e-9);
  EXPECT_NEAR(own_gil["mean_hold_ms"].get<double>(), 5.0, 1e-9);
  EXPECT_DOUBLE_EQ(json["mean_waiters"].get<double>(), 2.0);
  EXPECT_NEAR(json["switches_per_s"].get<double>(), 300.0, 1e-9);
  std::vector<int> interpreters;
  for (const nlohmann::json& thread : json["threads"])
    interpreters.push_back(thread["interpreter_id"]);
  EXPECT_EQ(interpreters, (std::vector<int>{0, 1, 1, 3, 3}));
}

TEST(SummaryTextTest, SeveralInterpretersGetALinePerGilAndAnInterpreterColumn) {
  const std::string text = SummaryText(Subinterpreters());
  EXPECT_THAT(text,
              HasSubstr("\n  GIL of interpreter 0 (shared with 3): held 100.0%, contended 100.0% "
                        "(mean 1.00 waiting), hand-offs 100.0/s, mean hold 10.00 ms\n"));
  EXPECT_THAT(text, HasSubstr("\n  GIL of interpreter 1: held 100.0%, contended 100.0% "
                              "(mean 1.00 waiting), hand-offs 200.0/s, mean hold 5.00 ms\n"));
  EXPECT_THAT(text, HasSubstr("     OS id  interp   held"));
  EXPECT_THAT(text, HasSubstr("\n        31       3 100.0%"));
  // One interpreter: no per-GIL lines, no column.
  const std::string one = SummaryText(TwoSpinners(/*with_switches=*/true));
  EXPECT_THAT(one, Not(HasSubstr("GIL of interpreter")));
  EXPECT_THAT(one, Not(HasSubstr("interp")));
}

TEST(SummaryTextTest, WithoutAGilSaysSoInsteadOfGilFigures) {
  const std::string text = SummaryText(NoGil());
  EXPECT_THAT(text, HasSubstr("\nNo GIL: free-threaded build running without it"));
  EXPECT_THAT(text, Not(HasSubstr("GIL held in")));
  EXPECT_THAT(text, Not(HasSubstr("contended")));
  EXPECT_THAT(text, Not(HasSubstr("hand-offs")));
  EXPECT_THAT(text, HasSubstr("\nVerdict: no_gil \u2014 "));
  EXPECT_THAT(text, HasSubstr("--mode cpu"));
}

TEST(SummaryJsonTest, WithoutAGilTheVerdictIsNoGil) {
  const nlohmann::json json = SummaryJson(NoGil());
  EXPECT_EQ(json["gil_enabled"], false);
  EXPECT_DOUBLE_EQ(json["gil_disabled"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["gil_held"].get<double>(), 0.0);
  EXPECT_EQ(json["verdict"], "no_gil");
  EXPECT_TRUE(json["top_blame"].empty());
}

}  // namespace
}  // namespace gilscope
