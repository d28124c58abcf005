// Threads grouped by name without counters: the key, and the groups in the summary (text and
// JSON) and in top's thread table, over a made-up thread-per-request server.
#include "gilscope/aggregate/thread_groups.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/top_screen.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromUnixSeconds(1000);
constexpr int kSamples = 10;
constexpr pid_t kFirstRequestThread = 200;

ThreadShare Named(const std::string& name, bool python_name, const std::string& root = "") {
  ThreadShare share;
  share.native_id = 1;
  share.name = name;
  share.python_name = python_name;
  share.root_function = root;
  return share;
}

TEST(ThreadGroupKeyTest, ReplacesEveryRunOfDigits) {
  EXPECT_EQ(NameWithoutCounters("Thread-12 (process_request_thread)"),
            "Thread-N (process_request_thread)");
  EXPECT_EQ(NameWithoutCounters("ThreadPoolExecutor-0_3"), "ThreadPoolExecutor-N_N");
  EXPECT_EQ(NameWithoutCounters("42"), "N");
  EXPECT_EQ(NameWithoutCounters("MainThread"), "MainThread");
  EXPECT_EQ(NameWithoutCounters(""), "");
  // Not ASCII digits (Arabic-Indic three, fullwidth one): kept.
  EXPECT_EQ(NameWithoutCounters("w\u0663-\uff11"), "w\u0663-\uff11");
}

TEST(ThreadGroupKeyTest, PythonNameElseTheOutermostFunction) {
  EXPECT_EQ(ThreadGroupKey(Named("Dummy-7", true, "serve")), "Dummy-N");
  // An OS name (comm) is the process's, not the thread's: the function tells threads apart.
  EXPECT_EQ(ThreadGroupKey(Named("python3.12", false, "serve_forever")),
            "<thread running serve_forever>");
  EXPECT_EQ(ThreadGroupKey(Named("python3.12", false)), "(no name)");
  // Seen only before threading registered it (3.11+ qualifies the name).
  EXPECT_EQ(ThreadGroupKey(Named("python3.12", false, "Thread._bootstrap")),
            "<thread starting, not named yet>");
  EXPECT_EQ(ThreadGroupKey(Named("python2.7", false, "_bootstrap")),
            "<thread starting, not named yet>");
  EXPECT_EQ(ThreadGroupKey(Named("", false)), "(no name)");
}

TEST(ThreadGroupKeyTest, HostileBytesStayForTheRendererToEscape) {
  EXPECT_EQ(ThreadGroupKey(Named("evil\x1b[31m-1\n\xff", true)), "evil\x1b[Nm-N\n\xff");
  EXPECT_EQ(ThreadGroupKey(Named("", false, "f\x07")), "<thread running f\x07>");
}

ThreadSnapshot Thread(pid_t tid, const std::string& name, ThreadState state,
                      const std::string& root) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.name = name;
  thread.os_name = "python3.12";
  thread.state = state;
  thread.frames = {{"leaf", "/srv/app.py", 10}, {root, "/srv/app.py", 1}};
  return thread;
}

// A thread-per-request server: `requests` "Thread-N (process_request_thread)" threads, idle in
// even samples and running without the GIL in odd ones; MainThread idle; two spinners, the
// first holding while the second waits.
Profile Server(int requests,
               const std::string& request_name = "Thread-%d (process_request_thread)") {
  Profile profile;
  for (int i = 0; i < kSamples; ++i) {
    Snapshot snapshot;
    snapshot.threads = {Thread(100, "MainThread", ThreadState::kIdle, "<module>"),
                        Thread(101, "spinner-1", ThreadState::kHoldingGil, "spin"),
                        Thread(102, "spinner-2", ThreadState::kWaitingForGil, "spin")};
    for (int r = 0; r < requests; ++r) {
      const std::string name = absl::StrReplaceAll(request_name, {{"%d", absl::StrCat(r + 1)}});
      snapshot.threads.push_back(
          Thread(kFirstRequestThread + r, name,
                 i % 2 == 0 ? ThreadState::kIdle : ThreadState::kRunningWithoutGil, "_bootstrap"));
    }
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(profile, std::move(snapshot), kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

RecordingInfo Info(bool by_thread) {
  RecordingInfo info;
  info.pid = 4242;
  info.python_version = "3.12.1";
  info.by_thread = by_thread;
  return info;
}

std::string SummaryText(const Profile& profile, bool by_thread) {
  std::ostringstream out;
  WriteSummaryText(profile, Info(by_thread), out);
  return out.str();
}

// The rows of the summary's thread table: after its column header, up to the blank line.
std::vector<std::string> ThreadTable(const std::string& text) {
  std::vector<std::string> rows;
  bool in_table = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (in_table && line.empty()) break;
    if (in_table) rows.emplace_back(line);
    if (absl::StrContains(line, "OS id")) in_table = true;
  }
  return rows;
}

TEST(ThreadGroupsTest, GroupsByKeyFromThreeThreads) {
  const std::vector<ThreadRow> rows = GroupThreads(Server(40).Threads(), /*by_thread=*/false);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_TRUE(rows[0].is_group());
  EXPECT_EQ(rows[0].share.name, "Thread-N (process_request_thread)");
  EXPECT_EQ(rows[0].members.size(), 40u);
  EXPECT_EQ(rows[0].members.front(), kFirstRequestThread);
  EXPECT_EQ(rows[0].share.samples, 40 * kSamples);
  EXPECT_EQ(rows[0].share.running, 40 * kSamples / 2);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_FALSE(rows[i].is_group());
  EXPECT_EQ(GroupThreads(Server(2).Threads(), false).size(), 5u);  // 2: no group
  EXPECT_EQ(GroupThreads(Server(3).Threads(), false).size(), 4u);
  EXPECT_EQ(GroupThreads(Server(40).Threads(), /*by_thread=*/true).size(), 43u);
}

// top --subprocesses: the same pool in two processes is two groups, each with its process;
// threads of different processes never share one (the workers' main threads stay rows), and a
// thread alone says its process too.
TEST(ThreadGroupsTest, ThreadsOfDifferentProcessesNeverShareAGroup) {
  const std::vector<ThreadShare> threads = Server(40).Threads();
  absl::flat_hash_map<pid_t, pid_t> process_of;
  for (const ThreadShare& thread : threads) {
    const bool second = thread.native_id >= kFirstRequestThread + 20;
    process_of[thread.native_id] = second ? 2000 : 1000;
  }
  const std::vector<ThreadRow> rows = GroupThreads(threads, false, &process_of);
  std::vector<std::tuple<pid_t, std::string, size_t>> groups;
  for (const ThreadRow& row : rows) {
    if (row.is_group()) groups.emplace_back(row.process, row.share.name, row.members.size());
  }
  EXPECT_THAT(
      groups,
      ::testing::ElementsAre(
          std::tuple<pid_t, std::string, size_t>{1000, "Thread-N (process_request_thread)", 20},
          std::tuple<pid_t, std::string, size_t>{2000, "Thread-N (process_request_thread)", 20}));
  const std::vector<ThreadRow> alone = GroupThreads(threads, /*by_thread=*/true, &process_of);
  ASSERT_EQ(alone.size(), threads.size());
  for (const ThreadRow& row : alone)
    EXPECT_EQ(row.process, process_of[row.share.native_id]) << row.share.name;
  for (const ThreadRow& row : GroupThreads(threads, false)) EXPECT_EQ(row.process, 0);
}

TEST(ThreadGroupsTest, ProfileNamesTheOutermostPythonFunctionOfUnnamedThreads) {
  Profile profile;
  Snapshot snapshot;
  for (pid_t tid = 300; tid < 303; ++tid) {
    ThreadSnapshot thread = Thread(tid, "", ThreadState::kIdle, "serve_forever");
    // Native frames (--native) around the Python ones are not where the thread was started.
    thread.frames.insert(thread.frames.begin(), Frame{"epoll_wait", "libc.so.6", -1});
    thread.frames.back().kind = FrameKind::kPython;
    thread.frames.push_back(Frame{"start_thread", "libc.so.6", -1});
    thread.frames.front().kind = FrameKind::kNative;
    thread.frames.back().kind = FrameKind::kNative;
    snapshot.threads.push_back(thread);
  }
  snapshot.gils.push_back(GilSnapshot{});
  AddSettled(profile, std::move(snapshot), kStart);
  const std::vector<ThreadShare> threads = profile.Threads();
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_FALSE(threads[0].python_name);
  EXPECT_EQ(threads[0].name, "python3.12");
  EXPECT_EQ(threads[0].root_function, "serve_forever");
  const std::vector<ThreadRow> rows = GroupThreads(threads, false);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].share.name, "<thread running serve_forever>");
}

TEST(SummaryTextGroupsTest, OneRowForTheRequestThreads) {
  const std::string text = SummaryText(Server(40), /*by_thread=*/false);
  const std::vector<std::string> rows = ThreadTable(text);
  ASSERT_EQ(rows.size(), 4u) << text;
  EXPECT_EQ(rows[0], "       100    0.0%    0.0%    0.0%    0.0%  100.0%  MainThread");
  EXPECT_EQ(rows[1], "       101  100.0%    0.0%    0.0%    0.0%    0.0%  spinner-1");
  EXPECT_EQ(rows[2], "       102    0.0%    0.0%  100.0%    0.0%    0.0%  spinner-2");
  EXPECT_EQ(rows[3],
            "       \u00d740    0.0%    0.0%    0.0%   50.0%   50.0%  Thread-N "
            "(process_request_thread)");
  EXPECT_THAT(text, HasSubstr("\u00d7N: N threads of one name"));
  EXPECT_THAT(text, Not(HasSubstr("more threads")));
}

TEST(SummaryTextGroupsTest, ByThreadListsThreadsAsBefore) {
  const std::string text = SummaryText(Server(40), /*by_thread=*/true);
  const std::vector<std::string> rows = ThreadTable(text);
  ASSERT_EQ(rows.size(), 13u) << text;  // the 12 busiest, then what was left out
  EXPECT_EQ(rows.back(), "  ... and 31 more threads");
  EXPECT_THAT(text, Not(HasSubstr("\u00d7")));
  EXPECT_THAT(text, HasSubstr("Thread-1 (process_request_thread)"));
}

TEST(SummaryTextGroupsTest, EscapesHostileGroupNames) {
  const std::string text = SummaryText(Server(3, "evil\x1b]0;%d\x07\n"), false);
  EXPECT_THAT(text, HasSubstr("  evil\\x1b]N;N\\x07\\x0a\n")) << text;
  for (char c : text) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << text;
}

nlohmann::json SummaryJson(const Profile& profile) {
  std::ostringstream out;
  WriteSummaryJson(profile, Info(false), out);
  return nlohmann::json::parse(out.str());
}

TEST(SummaryJsonGroupsTest, GroupsBesideTheUnchangedThreads) {
  const nlohmann::json json = SummaryJson(Server(40));
  EXPECT_EQ(json["threads"].size(), 43u);
  ASSERT_EQ(json["thread_groups"].size(), 1u);
  const nlohmann::json& group = json["thread_groups"][0];
  EXPECT_EQ(group["name"], "Thread-N (process_request_thread)");
  EXPECT_EQ(group["threads"], 40);
  EXPECT_EQ(group["samples"], 40 * kSamples);
  EXPECT_DOUBLE_EQ(group["running_without_gil"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(group["idle"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(group["held"].get<double>(), 0.0);
  EXPECT_EQ(group["native_ids"].size(), 40u);
  EXPECT_EQ(group["native_ids"][0], kFirstRequestThread);
  EXPECT_EQ(group["native_ids_left_out"], 0);
  EXPECT_TRUE(SummaryJson(Server(2))["thread_groups"].empty());
}

TEST(SummaryJsonGroupsTest, MemberIdsAreCapped) {
  const nlohmann::json group = SummaryJson(Server(70))["thread_groups"][0];
  EXPECT_EQ(group["threads"], 70);
  EXPECT_EQ(group["native_ids"].size(), 64u);
  EXPECT_EQ(group["native_ids_left_out"], 6);
}

std::string TopText(bool by_thread) {
  const Profile profile = Server(40);
  // The last sample was odd: the request threads run without the GIL.
  Snapshot latest;
  for (pid_t tid = kFirstRequestThread; tid < kFirstRequestThread + 30; ++tid)
    latest.threads.push_back(Thread(tid, "x", ThreadState::kRunningWithoutGil, "f"));
  for (pid_t tid = kFirstRequestThread + 30; tid < kFirstRequestThread + 35; ++tid)
    latest.threads.push_back(Thread(tid, "x", ThreadState::kIdle, "f"));
  latest.gils.push_back(GilSnapshot{});
  latest = Settled(std::move(latest));
  TopInfo info;
  info.pid = 4242;
  TopControls controls;
  controls.by_thread = by_thread;
  return ScreenText(RenderTopScreen(profile, &latest, info, controls, 200, 80));
}

TEST(TopScreenGroupsTest, GroupRowSaysHowManyThreadsAreInEachStateNow) {
  const std::string text = TopText(/*by_thread=*/false);
  // Busiest first: the group (200 busy thread-samples), the spinners, MainThread.
  const size_t group = text.find("\n    \u00d740 Thread-N (process_re");
  const size_t spinner = text.find("\n    101 spinner-1");
  const size_t main = text.find("\n    100 MainThread");
  ASSERT_NE(group, std::string::npos) << text;
  ASSERT_NE(spinner, std::string::npos) << text;
  ASSERT_NE(main, std::string::npos) << text;
  EXPECT_LT(group, spinner);
  EXPECT_LT(spinner, main);
  const std::string row = text.substr(group + 1, text.find('\n', group + 1) - group - 1);
  EXPECT_THAT(row, HasSubstr("running     30 running, 5 idle")) << row;
  EXPECT_THAT(text, Not(HasSubstr("    200 ")));
  EXPECT_THAT(text, HasSubstr("g group"));
}

TEST(TopScreenGroupsTest, ByThreadShowsEveryThread) {
  const std::string text = TopText(/*by_thread=*/true);
  EXPECT_THAT(text, Not(HasSubstr("\u00d7")));
  EXPECT_THAT(text, HasSubstr("\n    200 Thread-1 (process_re"));
  EXPECT_THAT(text, HasSubstr("\n    239 Thread-40 (process_r"));
}

}  // namespace
}  // namespace gilscope
