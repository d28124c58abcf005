// record --subprocesses: the root frame label, the choice of the process that matters most,
// and the tree summary as text and JSON, over small synthetic profiles.
#include "gilscope/render/tree_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1000);

ThreadSnapshot Thread(pid_t tid, ThreadState state) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = state;
  thread.frames = {{"work", "/app.py", 10}, {"<module>", "/app.py", 1}};
  return thread;
}

// `samples` samples of the given threads, one GIL.
Profile Recorded(const std::vector<ThreadSnapshot>& threads, int samples) {
  Profile profile;
  for (int i = 0; i < samples; ++i) {
    Snapshot snapshot;
    snapshot.threads = threads;
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

TEST(ProcessRootLabel, NamesPidAndCommand) {
  EXPECT_EQ(ProcessRootLabel(1234, "python app.py"), "pid 1234: python app.py");
}

TEST(ProcessRootLabel, CutsLongCommandLines) {
  const std::string label = ProcessRootLabel(7, std::string(100, 'a'));
  EXPECT_EQ(label, "pid 7: " + std::string(kProcessLabelCommand, 'a') + "...");
}

TEST(ProcessRootLabel, EscapesControlCharacters) {
  const std::string label = ProcessRootLabel(7, "python \x1b[2J\x07 app.py");
  EXPECT_EQ(label.find('\x1b'), std::string::npos);
  EXPECT_EQ(label.find('\x07'), std::string::npos);
  EXPECT_THAT(label, HasSubstr("app.py"));
}

TEST(ProcessRootLabel, FrameLabelIsTheBareLabel) {
  const Frame root{.function = ProcessRootLabel(9, "python x.py"), .line = -1};
  EXPECT_EQ(FrameLabel(root), "pid 9: python x.py");
}

TEST(MostImportantProcess, ContentionFirst) {
  const std::vector<ProcessWeight> weights = {{0, 500}, {40, 100}, {10, 900}};
  EXPECT_EQ(MostImportantProcess(weights), 1u);
}

TEST(MostImportantProcess, ThenBusyThreadSamples) {
  const std::vector<ProcessWeight> weights = {{0, 5}, {0, 300}, {0, 200}};
  EXPECT_EQ(MostImportantProcess(weights), 1u);
}

TEST(MostImportantProcess, TiesGoToTheFirst) {
  const std::vector<ProcessWeight> weights = {{0, 0}, {0, 0}};
  EXPECT_EQ(MostImportantProcess(weights), 0u);
  EXPECT_EQ(MostImportantProcess({}), 0u);
}

TEST(WeightOf, CountsContendedAndBusy) {
  // Two threads: one holds, one waits, in 10 samples.
  const Profile profile =
      Recorded({Thread(1, ThreadState::kHoldingGil), Thread(2, ThreadState::kWaitingForGil)}, 10);
  const ProcessWeight weight = WeightOf(profile);
  EXPECT_EQ(weight.contended_samples, 10);
  EXPECT_EQ(weight.busy_thread_samples, 20);
  const Profile idle = Recorded({Thread(3, ThreadState::kIdle)}, 10);
  EXPECT_EQ(WeightOf(idle).contended_samples, 0);
  EXPECT_EQ(WeightOf(idle).busy_thread_samples, 0);
}

class TreeSummary : public ::testing::Test {
 protected:
  TreeSummary()
      : parent_(Recorded({Thread(1, ThreadState::kIdle)}, 20)),
        worker_(Recorded({Thread(2, ThreadState::kHoldingGil)}, 20)),
        lighter_(Recorded({Thread(3, ThreadState::kHoldingGil)}, 5)) {
    processes_.push_back(Result(parent_, 100, 1, "python parent.py"));
    processes_.push_back(Result(worker_, 101, 100, "python worker \x1b[2J"));
    processes_.push_back(Result(lighter_, 102, 100, "python light"));
  }
  static ProcessResult Result(const Profile& profile, pid_t pid, pid_t parent,
                              const std::string& command) {
    ProcessResult result;
    result.parent_pid = parent;
    result.profile = &profile;
    result.info.pid = pid;
    result.info.command_line = command;
    return result;
  }
  Profile parent_, worker_, lighter_;
  std::vector<ProcessResult> processes_;
};

TEST_F(TreeSummary, TextHasALinePerProcessAndNamesTheHeaviest) {
  std::ostringstream out;
  WriteTreeSummaryText(processes_, 0, out);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("pid 100: 20 samples"));
  EXPECT_THAT(text, HasSubstr("pid 101: 20 samples"));
  EXPECT_THAT(text, HasSubstr("pid 102: 5 samples"));
  EXPECT_THAT(text, HasSubstr("Verdict: pid 101: python_cpu_bound; the other 2 processes: "
                              "1 idle, 1 python_cpu_bound"));
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST_F(TreeSummary, TextSaysWhatWasLeftOut) {
  std::ostringstream out;
  WriteTreeSummaryText(processes_, 3, out);
  EXPECT_THAT(out.str(), HasSubstr("3 more descendants"));
}

TEST_F(TreeSummary, JsonKeepsTopLevelOfTheHeaviestAndListsProcesses) {
  std::ostringstream out;
  WriteTreeSummaryJson(processes_, 2, out);
  const nlohmann::json json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["pid"], 101);
  EXPECT_EQ(json["verdict"], "python_cpu_bound");
  EXPECT_EQ(json["processes_left_out"], 2);
  ASSERT_EQ(json["processes"].size(), 3u);
  EXPECT_EQ(json["processes"][0]["pid"], 100);
  EXPECT_EQ(json["processes"][0]["parent_pid"], 1);
  EXPECT_EQ(json["processes"][0]["command_line"], "python parent.py");
  EXPECT_EQ(json["processes"][0]["verdict"], "idle");
  EXPECT_EQ(json["processes"][1]["samples"], 20);
  EXPECT_EQ(json["processes"][1]["gil_held"], 1.0);
  EXPECT_EQ(json["processes"][2]["samples"], 5);
}

}  // namespace
}  // namespace gilscope
