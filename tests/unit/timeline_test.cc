// Timeline: runs of equal state and stack per thread, GIL points, and its bounds, fed through
// Profile::AddSample as a recording feeds it.
#include "gilscope/aggregate/timeline.h"

#include <gtest/gtest.h>

#include "gilscope/aggregate/profile.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

ThreadSnapshot Thread(pid_t tid, ThreadState state, const std::string& function,
                      const std::string& blocked_in = "") {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = state;
  thread.blocked_in = blocked_in;
  thread.name = "worker-" + std::to_string(tid);
  thread.frames = {{function, "/app.py", 10}, {"<module>", "/app.py", 1}};
  return thread;
}

Snapshot Sample(std::vector<ThreadSnapshot> threads, uint64_t switches) {
  Snapshot snapshot;
  snapshot.threads = std::move(threads);
  GilSnapshot gil;
  gil.switch_number = switches;
  snapshot.gils.push_back(gil);
  return snapshot;
}

std::string Innermost(const Profile& profile, StackId stack) {
  const std::vector<FrameId>& frames = profile.stacks().stack(stack);
  return frames.empty() ? "" : profile.stacks().frame(frames.back()).function.str();
}

// GIVEN two spinners taking turns, WHEN recorded, THEN each thread's runs alternate between
// holding and waiting, equal samples merge, and the holder's runs carry the waiter as blame.
TEST(TimelineTest, SpinnersAlternateInRunsWithBlameOnTheHolder) {
  Profile profile;
  const ThreadState hold = ThreadState::kHoldingGil, wait = ThreadState::kWaitingForGil;
  const std::vector<std::pair<ThreadState, ThreadState>> states = {
      {hold, wait}, {hold, wait}, {wait, hold}, {wait, hold}, {wait, hold}, {hold, wait}};
  for (size_t i = 0; i < states.size(); ++i) {
    AddSettled(profile,
               Sample({Thread(11, states[i].first, "spin"), Thread(12, states[i].second, "spin")},
                      i < 2 ? 5 : 6),
               kStart + absl::Milliseconds(10 * static_cast<int64_t>(i)));
  }
  const Timeline& timeline = profile.timeline();
  EXPECT_EQ(timeline.sample_count(), 6);
  EXPECT_EQ(timeline.SampleTime(5), absl::Milliseconds(50));
  ASSERT_EQ(timeline.threads().size(), 2u);
  const TimelineThread& first = timeline.threads()[0];
  EXPECT_EQ(first.native_id, 11);
  EXPECT_EQ(first.name, "worker-11");
  ASSERT_EQ(first.runs.size(), 3u);
  EXPECT_EQ(first.runs[0].state, hold);
  EXPECT_EQ(first.runs[0].first_sample, 0);
  EXPECT_EQ(first.runs[0].samples, 2);
  EXPECT_EQ(first.runs[0].blame, 2);  // one waiter in each of its two samples
  EXPECT_EQ(first.runs[1].state, wait);
  EXPECT_EQ(first.runs[1].samples, 3);
  EXPECT_EQ(first.runs[1].blame, 0);
  EXPECT_EQ(first.runs[2].first_sample, 5);
  EXPECT_EQ(Innermost(profile, first.runs[0].stack), "spin");
  EXPECT_EQ(timeline.run_count(), 6);

  // The GIL: held with one waiter throughout; the switch counter's change noted 10 ms after
  // the first point, and not again until it changes.
  ASSERT_EQ(timeline.gils().size(), 1u);
  const std::vector<GilPoint>& points = timeline.gils()[0].points;
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].sample, 0);
  EXPECT_EQ(points[0].waiters, 1);
  EXPECT_TRUE(points[0].held);
  EXPECT_EQ(points[0].switch_number, 5u);
  EXPECT_EQ(points[1].sample, 2);
  EXPECT_EQ(points[1].switch_number, 6u);
}

// A run ends where a thread's stack, system call or presence changes, not only its state.
TEST(TimelineTest, RunsEndOnStackSyscallOrAbsence) {
  Profile profile;
  const ThreadState idle = ThreadState::kIdle;
  const std::vector<Snapshot> samples = {
      Sample({Thread(11, idle, "read_all", "read")}, 1),
      Sample({Thread(11, idle, "read_all", "read")}, 1),
      Sample({Thread(11, idle, "read_all", "poll")}, 1),    // another system call
      Sample({Thread(11, idle, "sleep_some", "poll")}, 1),  // another stack
      Sample({Thread(12, idle, "other", "poll")}, 1),       // thread 11 absent
      Sample({Thread(11, idle, "sleep_some", "poll")}, 1)};
  for (size_t i = 0; i < samples.size(); ++i) {
    AddSettled(profile, samples[i], kStart + absl::Milliseconds(static_cast<int64_t>(i)));
  }
  const Timeline& timeline = profile.timeline();
  const std::vector<TimelineRun>& runs = timeline.threads()[0].runs;
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].samples, 2);
  EXPECT_EQ(timeline.Text(runs[0].blocked_in), "read");
  EXPECT_EQ(timeline.Text(runs[1].blocked_in), "poll");
  EXPECT_EQ(Innermost(profile, runs[2].stack), "sleep_some");
  EXPECT_EQ(runs[3].first_sample, 5);
  // Idle stacks are in the timeline even though the wall view leaves idle threads out.
  EXPECT_TRUE(profile.weights(ProfileMode::kWall).empty());
}

// A thread's stack is interned again only where its frames changed: the same frames handed
// again keep their stack, a changed leaf or root makes the right new stack, and frames equal
// in content but made apart are the same stack.
TEST(TimelineTest, StacksFollowChangesAtLeafAndRoot) {
  Profile profile;
  const Frame spin{"spin", "/app.py", 10}, module{"<module>", "/app.py", 1};
  Frame spin_later = spin;
  spin_later.line = 11;
  const Frame main_root{"main", "/other.py", 3};
  const Frame spin_apart{std::string("spin"), std::string("/app.py"), 10};
  const std::vector<std::vector<Frame>> stacks = {{spin, module},       {spin, module},
                                                  {spin_later, module}, {spin_later, main_root},
                                                  {spin_apart, module}, {module}};
  for (size_t i = 0; i < stacks.size(); ++i) {
    ThreadSnapshot thread = Thread(11, ThreadState::kHoldingGil, "unused");
    thread.frames = stacks[i];
    AddSettled(profile, Sample({thread}, 1), kStart + absl::Milliseconds(static_cast<int64_t>(i)));
  }
  const std::vector<TimelineRun>& runs = profile.timeline().threads()[0].runs;
  ASSERT_EQ(runs.size(), 5u);
  const auto labels = [&](StackId stack) {
    std::string text;
    for (FrameId id : profile.stacks().stack(stack)) {
      const Frame& frame = profile.stacks().frame(id);
      text += frame.function.str() + ":" + std::to_string(frame.line) + ";";
    }
    return text;
  };
  EXPECT_EQ(runs[0].samples, 2);
  EXPECT_EQ(labels(runs[0].stack), "<module>:1;spin:10;");
  EXPECT_EQ(labels(runs[1].stack), "<module>:1;spin:11;");
  EXPECT_EQ(labels(runs[2].stack), "main:3;spin:11;");
  EXPECT_EQ(runs[3].stack, runs[0].stack);  // equal content, texts made apart
  EXPECT_EQ(labels(runs[4].stack), "<module>:1;");
}

}  // namespace
}  // namespace gilscope
