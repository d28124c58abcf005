// WriteFlameGraphSvg: every view embedded, the opening view drawn, hostile names contained.
// flamegraph_browser_test.py runs the script in a real browser; these check the bytes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromUnixSeconds(1000);

ThreadSnapshot Thread(pid_t tid, ThreadState state, std::vector<std::string> root_first) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = state;
  for (auto it = root_first.rbegin(); it != root_first.rend(); ++it) {
    thread.frames.push_back({*it, "app.py", 10});
  }
  return thread;
}

void AddSamples(Profile& profile, int count, std::vector<ThreadSnapshot> threads) {
  Snapshot snapshot;
  snapshot.threads = std::move(threads);
  snapshot.gils.push_back(GilSnapshot{});
  for (int i = 0; i < count; ++i)
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
}

// Main holds the GIL in "spin" 3 samples and "parse" 1 while a worker waits in "queue".
Profile Contended() {
  Profile profile;
  AddSamples(profile, 3,
             {Thread(1, ThreadState::kHoldingGil, {"main", "spin"}),
              Thread(2, ThreadState::kWaitingForGil, {"worker", "queue"})});
  AddSamples(profile, 1,
             {Thread(1, ThreadState::kHoldingGil, {"main", "parse"}),
              Thread(2, ThreadState::kWaitingForGil, {"worker", "queue"})});
  return profile;
}

std::string Svg(const Profile& profile, ProfileMode mode = ProfileMode::kBlame,
                const std::string& command_line = "python3 app.py") {
  RecordingInfo info;
  info.pid = 77;
  info.python_version = "3.12.1";
  info.command_line = command_line;
  info.mode = mode;
  std::ostringstream out;
  WriteFlameGraphSvg(profile, info, out);
  return out.str();
}

size_t Count(absl::string_view text, absl::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// The text of the embedded data block, as JSON.parse sees it.
nlohmann::json EmbeddedData(const std::string& svg) {
  const std::string open = "<script type=\"application/json\" id=\"flame-data\"><![CDATA[";
  const size_t begin = svg.find(open);
  EXPECT_NE(begin, std::string::npos);
  const size_t end = svg.find("]]></script>", begin);
  EXPECT_NE(end, std::string::npos);
  return nlohmann::json::parse(svg.substr(begin + open.size(), end - begin - open.size()));
}

// The statically drawn part: between <g id="frames"> and its closing tag.
std::string StaticFrames(const std::string& svg) {
  const size_t begin = svg.find("<g id=\"frames\">");
  const size_t end = svg.find("<text id=\"details\"");
  EXPECT_NE(begin, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  return svg.substr(begin, end - begin);
}

const nlohmann::json& View(const nlohmann::json& data, const std::string& name) {
  for (const nlohmann::json& view : data["views"]) {
    if (view["name"] == name) return view;
  }
  ADD_FAILURE() << "no view " << name;
  return data;
}

// Every byte is valid UTF-8, and no character XML 1.0 forbids (C0 controls but tab and newline).
bool XmlSafeBytes(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\n' && c != '\t') return false;
      ++i;
      continue;
    }
    const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    if (text.substr(i, length) == "\xEF\xBF\xBE" || text.substr(i, length) == "\xEF\xBF\xBF")
      return false;
    i += length;
  }
  return true;
}

TEST(FlameGraphSvgTest, IsOneSelfContainedSvgDocument) {
  const std::string svg = Svg(Contended());
  EXPECT_TRUE(absl::StartsWith(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\""));
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(absl::EndsWith(svg, "</svg>\n"));
  EXPECT_EQ(Count(svg, "<svg"), 1u);
  // Three CDATA sections (style, data, script), each closed once: "]]>" appears nowhere else.
  EXPECT_EQ(Count(svg, "<![CDATA["), 3u);
  EXPECT_EQ(Count(svg, "]]>"), 3u);
  EXPECT_TRUE(XmlSafeBytes(svg));
  // Nothing fetched from outside.
  EXPECT_THAT(svg, Not(HasSubstr("href")));
  EXPECT_THAT(svg, Not(HasSubstr("http://www.w3.org/1999/xlink")));
  EXPECT_THAT(svg, Not(HasSubstr("https://")));
}

TEST(FlameGraphSvgTest, TitleLineCarriesTheFigures) {
  const std::string svg = Svg(Contended(), ProfileMode::kGil);
  EXPECT_THAT(svg,
              HasSubstr("gilscope <tspan id=\"title-view\">gil</tspan> view: 0.0 s, 4 samples, "
                        "GIL held 100.0%, contention 100.0%"));
  EXPECT_THAT(svg, HasSubstr("pid 77, Python 3.12.1: python3 app.py"));
}

// A tree's GILs do not add up: its title counts processes instead of a merged GIL share.
TEST(FlameGraphSvgTest, TitleOfATreeCountsProcessesNotAMergedGil) {
  const Profile profile = Contended();
  RecordingInfo info, worker;
  info.pid = 77;
  worker.pid = 78;
  info.tree_processes = {{&profile, &info}, {&profile, &worker}};
  std::ostringstream out;
  WriteFlameGraphSvg(profile, info, out);
  EXPECT_THAT(out.str(), HasSubstr("4 samples, 2 Python processes, a GIL each</text>"));
  EXPECT_THAT(out.str(), Not(HasSubstr("GIL held 100.0%")));
}

TEST(FlameGraphSvgTest, EmbedsEveryViewWithItsWeights) {
  const nlohmann::json data = EmbeddedData(Svg(Contended()));
  std::vector<std::string> names;
  for (const nlohmann::json& view : data["views"]) names.push_back(view["name"]);
  EXPECT_THAT(names, ElementsAre("blame", "wait", "gil", "wall", "cpu"));
  EXPECT_EQ(View(data, "blame")["total"], 4);
  EXPECT_EQ(View(data, "wait")["total"], 4);
  EXPECT_EQ(View(data, "gil")["total"], 4);
  EXPECT_EQ(View(data, "wall")["total"], 8);
  EXPECT_EQ(View(data, "cpu")["total"], 4);
  EXPECT_FALSE(View(data, "gil")["tagged"]);
  EXPECT_TRUE(View(data, "wall")["tagged"]);
  // Labels are sorted and shared by every view; nodes are [label, weight, state, children].
  EXPECT_EQ(data["labels"],
            nlohmann::json({"main (app.py:10)", "parse (app.py:10)", "queue (app.py:10)",
                            "spin (app.py:10)", "worker (app.py:10)"}));
  EXPECT_EQ(data["hashes"].size(), 5u);
  const nlohmann::json& gil_root = View(data, "gil")["root"];
  EXPECT_EQ(gil_root[0], -1);
  EXPECT_EQ(gil_root[1], 4);
  const nlohmann::json& main = gil_root[3][0];
  EXPECT_EQ(main[0], 0);  // "main"
  ASSERT_EQ(main[3].size(), 2u);
  EXPECT_EQ(main[3][0][0], 1);  // "parse" before "spin": children sorted by label
  EXPECT_EQ(main[3][0][1], 1);
  EXPECT_EQ(main[3][1][0], 3);
  EXPECT_EQ(main[3][1][1], 3);
  EXPECT_EQ(main[3][1].size(), 3u);  // a leaf has no children array
}

TEST(FlameGraphSvgTest, OpensOnTheRecordedMode) {
  for (ProfileMode mode : kAllModes) {
    const std::string name = ProfileModeName(mode);
    SCOPED_TRACE(name);
    const std::string svg = Svg(Contended(), mode);
    EXPECT_EQ(EmbeddedData(svg)["open"], name);
    EXPECT_THAT(svg, HasSubstr("<g id=\"tab-" + name + "\" class=\"tab active\""));
    EXPECT_EQ(Count(svg, "class=\"tab active\""), 1u);
    EXPECT_THAT(svg, HasSubstr("<tspan id=\"title-view\">" + name + "</tspan>"));
    // The static drawing is that view: wall and cpu frames name their state, with a legend.
    const std::string frames = StaticFrames(svg);
    EXPECT_EQ(absl::StrContains(frames, "holding GIL, "), ViewTagsState(mode));
    EXPECT_EQ(absl::StrContains(svg, "<g id=\"legend\" display=\"none\">"), !ViewTagsState(mode));
  }
}

TEST(FlameGraphSvgTest, StaticFramesHaveTooltipsAndWidthsInProportion) {
  const std::string frames = StaticFrames(Svg(Contended(), ProfileMode::kGil));
  EXPECT_EQ(Count(frames, "<g class=\"frame\">"), 4u);  // all, main, parse, spin
  EXPECT_THAT(frames, HasSubstr("<title>spin (app.py:10)\n3 samples, 75.00%</title>"
                                "<rect x=\"305.00\" y=\"140\" width=\"885.00\""));
  EXPECT_THAT(frames, HasSubstr("<title>all\n4 samples, 100.00%</title>"
                                "<rect x=\"10.00\" y=\"172\" width=\"1180.00\""));
}

TEST(FlameGraphSvgTest, WallKeysFramesByLabelAndState) {
  Profile profile;
  AddSamples(profile, 2, {Thread(1, ThreadState::kHoldingGil, {"work"})});
  AddSamples(profile, 1, {Thread(1, ThreadState::kRunningWithoutGil, {"work"})});
  const std::string svg = Svg(profile, ProfileMode::kWall);
  const nlohmann::json data = EmbeddedData(svg);
  const nlohmann::json& wall_root = View(data, "wall")["root"];
  ASSERT_EQ(wall_root[3].size(), 2u);
  EXPECT_EQ(wall_root[3][0][0], wall_root[3][1][0]);
  EXPECT_EQ(wall_root[3][0][2], static_cast<int>(ThreadState::kHoldingGil));
  EXPECT_EQ(wall_root[3][1][2], static_cast<int>(ThreadState::kRunningWithoutGil));
  const std::string frames = StaticFrames(svg);
  EXPECT_THAT(frames, HasSubstr("work (app.py:10)\nholding GIL, 2 thread-samples"));
  EXPECT_THAT(frames, HasSubstr("work (app.py:10)\nrunning without GIL, 1 thread-samples"));
  // The gil view merges states: one "work" frame.
  EXPECT_EQ(View(data, "gil")["root"][3].size(), 1u);
}

TEST(FlameGraphSvgTest, AThreadWithoutPythonFramesStillShows) {
  Profile profile;
  AddSamples(profile, 2, {Thread(1, ThreadState::kHoldingGil, {})});
  EXPECT_THAT(StaticFrames(Svg(profile, ProfileMode::kGil)),
              HasSubstr("<title>&lt;no Python frames&gt;\n2 samples, 100.00%</title>"));
}

TEST(FlameGraphSvgTest, HostileNamesStayText) {
  const std::string hostile = "evil]]></script><script>alert(1)</script>&\x01\xff";
  Profile profile;
  AddSamples(profile, 2,
             {Thread(1, ThreadState::kHoldingGil, {"main", hostile, "\xEF\xBF\xBF"}),
              Thread(2, ThreadState::kWaitingForGil, {"worker"})});
  for (ProfileMode mode : {ProfileMode::kBlame, ProfileMode::kWall}) {
    const std::string svg = Svg(profile, mode, "python3 -c ']]><script>alert(2)</script>\x1b[2J'");
    EXPECT_EQ(Count(svg, "]]>"), 3u);
    EXPECT_THAT(svg, Not(HasSubstr("<script>alert")));
    EXPECT_THAT(svg, Not(HasSubstr("</script><script>")));
    EXPECT_EQ(Count(svg, "<script"), 2u);
    EXPECT_TRUE(XmlSafeBytes(svg));
    EXPECT_THAT(svg, Not(HasSubstr("\xff")));
    EXPECT_THAT(svg, Not(HasSubstr("\x1b")));
    // Shown as text: control and invalid bytes as \xNN, markup escaped.
    const std::string shown = "evil]]></script><script>alert(1)</script>&\\x01\\xff (app.py:10)";
    EXPECT_THAT(StaticFrames(svg),
                HasSubstr("<title>evil]]&gt;&lt;/script&gt;&lt;script&gt;alert(1)"
                          "&lt;/script&gt;&amp;\\x01\\xff (app.py:10)\n"));
    EXPECT_THAT(svg, HasSubstr("]]&gt;&lt;script&gt;alert(2)&lt;/script&gt;\\x1b[2J"));
    // The script gets the same text back from JSON.parse.
    const nlohmann::json labels = EmbeddedData(svg)["labels"];
    EXPECT_NE(std::find(labels.begin(), labels.end(), shown), labels.end());
    EXPECT_NE(std::find(labels.begin(), labels.end(), "\\xef\\xbf\\xbf (app.py:10)"), labels.end());
  }
}

TEST(FlameGraphSvgTest, EmptyViewsSayWhyAndWhereToLook) {
  Profile profile;  // one thread holding the GIL, nobody waiting
  AddSamples(profile, 3, {Thread(1, ThreadState::kHoldingGil, {"main", "spin"})});
  const std::string svg = Svg(profile, ProfileMode::kBlame);
  const std::string frames = StaticFrames(svg);
  EXPECT_THAT(frames,
              HasSubstr("No thread waited for the GIL during this recording, so nothing is to "
                        "blame."));
  EXPECT_THAT(frames,
              HasSubstr("Open the gil view (what held the GIL) or the wall view (what every "
                        "thread did)."));
  EXPECT_THAT(frames, Not(HasSubstr("class=\"frame\"")));
  const nlohmann::json data = EmbeddedData(svg);
  EXPECT_TRUE(View(data, "blame")["root"].is_null());
  EXPECT_EQ(View(data, "blame")["total"], 0);
  EXPECT_THAT(View(data, "blame")["empty"][0].get<std::string>(), HasSubstr("nothing is to blame"));
  EXPECT_THAT(View(data, "wait")["empty"][0].get<std::string>(), HasSubstr("No thread waited"));
  EXPECT_TRUE(View(data, "gil")["empty"].empty());
  EXPECT_EQ(View(data, "gil")["total"], 3);
  // The switch is still there.
  EXPECT_THAT(svg, HasSubstr("<g id=\"tab-gil\" class=\"tab\" data-view=\"gil\">"));
}

TEST(FlameGraphSvgTest, SplitByInterpreterPutsAnInterpreterFrameAtTheRootOfEachStack) {
  // GIVEN the same code spinning in two subinterpreters, each with its own GIL
  Profile profile;
  std::vector<ThreadSnapshot> threads;
  for (int interpreter = 1; interpreter <= 2; ++interpreter) {
    for (ThreadState state : {ThreadState::kHoldingGil, ThreadState::kWaitingForGil}) {
      ThreadSnapshot thread = Thread(static_cast<pid_t>(10 * interpreter + threads.size()), state,
                                     {"<module>", "spin"});
      thread.interpreter_id = interpreter;
      thread.gil_index = interpreter - 1;
      threads.push_back(thread);
    }
  }
  Snapshot snapshot;
  snapshot.threads = threads;
  snapshot.gils.resize(2);
  AddSettled(profile, snapshot, kStart);
  RecordingInfo info;
  info.mode = ProfileMode::kBlame;
  info.by_interpreter = true;
  std::ostringstream out;
  WriteFlameGraphSvg(profile, info, out);
  // THEN each view's root has one child per interpreter, each holding that interpreter's stacks
  const nlohmann::json data = EmbeddedData(out.str());
  const nlohmann::json& labels = data["labels"];
  for (const char* name : {"blame", "wait", "gil"}) {
    SCOPED_TRACE(name);
    const nlohmann::json& children = View(data, name)["root"][3];
    ASSERT_EQ(children.size(), 2u);
    EXPECT_EQ(labels[children[0][0].get<size_t>()], "interpreter 1");
    EXPECT_EQ(labels[children[1][0].get<size_t>()], "interpreter 2");
    EXPECT_EQ(children[0][1], children[1][1]);  // equal weights
  }
  // The wall view keys every frame by state too: each interpreter once per state.
  std::vector<std::string> wall_roots;
  for (const nlohmann::json& child : View(data, "wall")["root"][3]) {
    wall_roots.push_back(labels[child[0].get<size_t>()]);
  }
  EXPECT_THAT(wall_roots, ::testing::UnorderedElementsAre("interpreter 1", "interpreter 1",
                                                          "interpreter 2", "interpreter 2"));
  EXPECT_THAT(StaticFrames(out.str()), HasSubstr("<title>interpreter 1\n"));
  // The timeline gives each run's interpreter and, for the script, its root frame's label.
  EXPECT_EQ(data["timeline"]["split"], true);
  std::vector<std::string> interpreter_roots;
  for (const nlohmann::json& pair : data["timeline"]["interpreters"]) {
    interpreter_roots.push_back(
        absl::StrCat(pair[0].get<int>(), ": ", labels[pair[1].get<size_t>()].get<std::string>()));
  }
  EXPECT_THAT(interpreter_roots, ElementsAre("1: interpreter 1", "2: interpreter 2"));
  // AND unsplit, the two interpreters' stacks are one
  const nlohmann::json merged = EmbeddedData(Svg(profile, ProfileMode::kBlame));
  EXPECT_EQ(View(merged, "blame")["root"][3].size(), 1u);
}

TEST(FlameGraphSvgTest, WithoutAGilTheTitleAndTheGilViewsSaySo) {
  Profile profile;
  Snapshot snapshot;
  snapshot.threads = {Thread(1, ThreadState::kRunningWithoutGil, {"main", "work"}),
                      Thread(2, ThreadState::kRunningWithoutGil, {"main", "work"})};
  snapshot.gils.push_back(GilSnapshot{});
  snapshot.gils[0].enabled = false;
  AddSettled(profile, snapshot, kStart);
  const std::string svg = Svg(profile, ProfileMode::kBlame);
  EXPECT_THAT(svg, HasSubstr("1 samples, no GIL (free-threaded build running without it)</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("GIL held")));
  EXPECT_THAT(StaticFrames(svg),
              HasSubstr("There is no GIL: this free-threaded build ran without it"));
  EXPECT_THAT(StaticFrames(svg), HasSubstr("Open the cpu view"));
  const nlohmann::json data = EmbeddedData(svg);
  for (const char* name : {"blame", "wait", "gil"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(View(data, name)["empty"][0].get<std::string>(), HasSubstr("There is no GIL"));
  }
  EXPECT_EQ(View(data, "cpu")["total"], 2);
}

TEST(FlameGraphSvgTest, AnEmptyRecordingStillRenders) {
  const std::string svg = Svg(Profile(), ProfileMode::kWall);
  EXPECT_THAT(StaticFrames(svg), HasSubstr("Every thread was idle during this recording."));
  EXPECT_TRUE(absl::EndsWith(svg, "</svg>\n"));
  EXPECT_EQ(EmbeddedData(svg)["labels"].size(), 0u);
}

TEST(FlameGraphSvgTest, FramesUnderAThousandthAreLeftOutButCount) {
  Profile profile;
  AddSamples(profile, 2000, {Thread(1, ThreadState::kHoldingGil, {"main", "hot"})});
  AddSamples(profile, 1, {Thread(1, ThreadState::kHoldingGil, {"main", "rare"})});
  const std::string svg = Svg(profile, ProfileMode::kGil);
  // Neither drawn nor in the view's tree (main has one child, below); its label is embedded for
  // the timeline only, whose time ranges can make it wide enough.
  EXPECT_THAT(StaticFrames(svg), Not(HasSubstr("rare")));
  EXPECT_EQ(EmbeddedData(svg)["labels"][2], "rare (app.py:10)");
  EXPECT_THAT(StaticFrames(svg), HasSubstr("<title>main (app.py:10)\n2001 samples, 100.00%"));
  const nlohmann::json data = EmbeddedData(svg);
  const nlohmann::json& main = View(data, "gil")["root"][3][0];
  EXPECT_EQ(main[1], 2001);
  EXPECT_EQ(main[3].size(), 1u);
}

TEST(FlameGraphSvgTest, SameProfileGivesSameBytes) {
  const std::string first = Svg(Contended(), ProfileMode::kWall);
  EXPECT_EQ(Svg(Contended(), ProfileMode::kWall), first);
  const Profile profile = Contended();
  EXPECT_EQ(Svg(profile, ProfileMode::kWall), Svg(profile, ProfileMode::kWall));
}

TEST(FlameGraphSvgTest, LongLabelsAreCutToFitWithoutSplittingCharacters) {
  Profile profile;
  // "é" is two bytes: a cut by bytes would leave half a character.
  AddSamples(profile, 99, {Thread(1, ThreadState::kHoldingGil, {"main", "a"})});
  AddSamples(profile, 1,
             {Thread(1, ThreadState::kHoldingGil, {"main", "\xC3\xA9\xC3\xA9\xC3\xA9"})});
  const std::string frames = StaticFrames(Svg(profile, ProfileMode::kGil));
  // 1% of 1180 = 11.8 units: one character of 7.08, under the three needed for "x..".
  EXPECT_THAT(frames, HasSubstr("width=\"11.80\" height=\"15\" rx=\"2\" fill="));
  for (absl::string_view line : absl::StrSplit(frames, '\n')) {
    if (absl::StrContains(line, "width=\"11.80\"")) {
      EXPECT_THAT(std::string(line), HasSubstr("\"></text>"));
    }
  }
  EXPECT_TRUE(XmlSafeBytes(frames));
}

// --- The timeline view's data, and native frames ----------------------------------------------

// Run `index` of a thread's flat run list: [first sample, samples, state, stack, blame,
// interpreter, blocked].
std::vector<int64_t> RunOf(const nlohmann::json& thread, size_t index) {
  std::vector<int64_t> run;
  for (size_t i = 0; i < 7; ++i) run.push_back(thread["runs"][index * 7 + i].get<int64_t>());
  return run;
}

std::vector<std::string> StackLabels(const nlohmann::json& data, int64_t stack) {
  std::vector<std::string> labels;
  for (const nlohmann::json& id : data["timeline"]["stacks"][stack]) {
    labels.push_back(data["labels"][id.get<size_t>()]);
  }
  return labels;
}

TEST(FlameGraphSvgTest, EmbedsTheTimelineAsRunsPerThread) {
  // Contended(), its samples 10 ms apart.
  Profile profile;
  for (int i = 0; i < 4; ++i) {
    Snapshot snapshot;
    snapshot.gils.push_back(GilSnapshot{});
    snapshot.threads = {Thread(1, ThreadState::kHoldingGil, {"main", i < 3 ? "spin" : "parse"}),
                        Thread(2, ThreadState::kWaitingForGil, {"worker", "queue"})};
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  const nlohmann::json data = EmbeddedData(Svg(profile));
  const nlohmann::json& timeline = data["timeline"];
  EXPECT_EQ(timeline["samples"], 4);
  EXPECT_EQ(timeline["stride"], 1);
  EXPECT_EQ(timeline["times"], nlohmann::json({0.0, 0.01, 0.02, 0.03, 0.04}));  // then the end
  EXPECT_EQ(timeline["coarse"], false);
  EXPECT_EQ(timeline["idleKept"], false);
  ASSERT_EQ(timeline["threads"].size(), 2u);
  const nlohmann::json& main = timeline["threads"][0];
  EXPECT_EQ(main["tid"], 1);
  ASSERT_EQ(main["runs"].size(), 14u);
  // Holding in spin 3 samples with a waiter each (blame 3), then in parse 1.
  const std::vector<int64_t> spin = RunOf(main, 0), parse = RunOf(main, 1);
  EXPECT_THAT(spin, ElementsAre(0, 3, 0, spin[3], 3, -1, 0));
  EXPECT_THAT(parse, ElementsAre(3, 1, 0, parse[3], 1, -1, 0));
  EXPECT_THAT(StackLabels(data, spin[3]), ElementsAre("main (app.py:10)", "spin (app.py:10)"));
  EXPECT_THAT(StackLabels(data, parse[3]), ElementsAre("main (app.py:10)", "parse (app.py:10)"));
  const nlohmann::json& worker = timeline["threads"][1];
  ASSERT_EQ(worker["runs"].size(), 7u);
  const std::vector<int64_t> queue = RunOf(worker, 0);
  EXPECT_THAT(queue, ElementsAre(0, 4, 2, queue[3], 0, -1, 0));
  EXPECT_THAT(StackLabels(data, queue[3]), ElementsAre("worker (app.py:10)", "queue (app.py:10)"));
  // Nothing sampled, no timeline (the script says so in its view).
  EXPECT_TRUE(EmbeddedData(Svg(Profile()))["timeline"].is_null());
}

TEST(FlameGraphSvgTest, HostileThreadNamesStayText) {
  ThreadSnapshot thread = Thread(7, ThreadState::kHoldingGil, {"main"});
  thread.name = "t]]></script><script>alert(3)</script>&\x1b[2J\xff";
  Profile profile;
  AddSamples(profile, 2, {thread});
  const std::string svg = Svg(profile);
  EXPECT_THAT(svg, Not(HasSubstr("<script>alert")));
  EXPECT_EQ(Count(svg, "<script"), 2u);
  EXPECT_TRUE(XmlSafeBytes(svg));
  EXPECT_THAT(svg, Not(HasSubstr("\x1b")));
  EXPECT_EQ(EmbeddedData(svg)["timeline"]["threads"][0]["name"],
            "t]]></script><script>alert(3)</script>&\\x1b[2J\\xff");
}

// The fill of the static frame titled `label`, as {r, g, b}.
std::vector<int> StaticFill(const std::string& svg, const std::string& label) {
  const std::string frames = StaticFrames(svg);
  const size_t title = frames.find("<title>" + label + "\n");
  EXPECT_NE(title, std::string::npos) << label;
  const size_t fill = frames.find("fill=\"rgb(", title);
  int r = -1, g = -1, b = -1;
  if (title != std::string::npos && fill != std::string::npos) {
    std::sscanf(frames.c_str() + fill, "fill=\"rgb(%d,%d,%d)", &r, &g, &b);
  }
  return {r, g, b};
}

bool NativePalette(const std::vector<int>& rgb) {
  return rgb[0] >= 30 && rgb[0] < 80 && rgb[1] >= 120 && rgb[1] < 190 && rgb[2] >= 180 &&
         rgb[2] < 240;
}

TEST(FlameGraphSvgTest, NativeFramesHaveTheirOwnColoursAndLegendEntry) {
  ThreadSnapshot thread = Thread(1, ThreadState::kHoldingGilInNative, {"main"});
  thread.frames.insert(thread.frames.begin(),
                       Frame{"crc32_z", "libz.so.1", -1, FrameKind::kNative});
  Profile profile;
  AddSamples(profile, 2, {thread, Thread(2, ThreadState::kWaitingForGil, {"worker"})});
  for (ProfileMode mode : {ProfileMode::kGil, ProfileMode::kWall}) {
    const std::string svg = Svg(profile, mode);
    EXPECT_TRUE(NativePalette(StaticFill(svg, "crc32_z (libz.so.1)"))) << ProfileModeName(mode);
    EXPECT_FALSE(NativePalette(StaticFill(svg, "main (app.py:10)"))) << ProfileModeName(mode);
    EXPECT_THAT(svg, HasSubstr("<g id=\"legend-native\">"));
    EXPECT_THAT(svg, HasSubstr(">native code</text>"));
    const nlohmann::json data = EmbeddedData(svg);
    ASSERT_EQ(data["native"].size(), 1u);
    EXPECT_EQ(data["labels"][data["native"][0].get<size_t>()], "crc32_z (libz.so.1)");
  }
  EXPECT_THAT(Svg(Contended(), ProfileMode::kWall), Not(HasSubstr("legend-native")));
}

// Two threads trading the GIL every sample: a run per thread per sample, past the cap on
// embedded runs (100,000), so the lanes are bucketed and range selection is off.
TEST(FlameGraphSvgTest, ALongTimelineIsBucketedAndBounded) {
  Snapshot first, second;
  first.gils.push_back(GilSnapshot{});
  second.gils.push_back(GilSnapshot{});
  first.threads = {Thread(1, ThreadState::kHoldingGil, {"main", "spin"}),
                   Thread(2, ThreadState::kWaitingForGil, {"worker", "spin"})};
  second.threads = {Thread(1, ThreadState::kWaitingForGil, {"main", "spin"}),
                    Thread(2, ThreadState::kHoldingGil, {"worker", "spin"})};
  Profile profile;
  constexpr int kSamples = 60'000;
  for (int i = 0; i < kSamples; ++i) {
    AddSettled(profile, i % 2 == 0 ? first : second, kStart + absl::Milliseconds(i));
  }
  ASSERT_EQ(profile.timeline().run_count(), 2 * kSamples);
  const std::string svg = Svg(profile);
  const nlohmann::json data = EmbeddedData(svg);
  const nlohmann::json& timeline = data["timeline"];
  EXPECT_EQ(timeline["coarse"], true);
  ASSERT_EQ(timeline["threads"].size(), 2u);
  for (const nlohmann::json& thread : timeline["threads"]) {
    EXPECT_GE(thread["runs"].size(), 7u);
    EXPECT_LE(thread["runs"].size(), 7u * 1000);  // at most one run per bucket
    for (size_t i = 0; i < thread["runs"].size(); i += 7) EXPECT_EQ(thread["runs"][i + 4], 0);
  }
  EXPECT_EQ(timeline["samples"], kSamples);
  EXPECT_EQ(timeline["stride"], 6);
  EXPECT_EQ(timeline["times"].size(), 10'001u);     // every 6th sample, then the end
  EXPECT_EQ(View(data, "gil")["total"], kSamples);  // the flame views still count everything
  EXPECT_LT(svg.size(), 400'000u);
}

}  // namespace
}  // namespace gilscope
