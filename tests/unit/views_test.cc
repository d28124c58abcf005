// ViewStacks and TopLeafFrames: what every output format draws from a Profile.
#include "gilscope/aggregate/views.h"

#include <gtest/gtest.h>

#include "support/settled_sample.h"

namespace gilscope {
namespace {

ThreadSnapshot Thread(pid_t tid, ThreadState state, const std::string& leaf) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = state;
  thread.frames = {{leaf, "/app.py", 10}, {"<module>", "/app.py", 1}};
  return thread;
}

Snapshot Sample(std::vector<ThreadSnapshot> threads) {
  Snapshot snapshot;
  snapshot.threads = std::move(threads);
  snapshot.gils.push_back(GilSnapshot{});
  return snapshot;
}

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(ViewsTest, StacksAreRootFirstHeaviestFirst) {
  Profile profile;
  for (int i = 0; i < 3; ++i) {
    AddSettled(profile,
               Sample({Thread(1, ThreadState::kHoldingGil, "hog"),
                       Thread(2, ThreadState::kWaitingForGil, "queue")}),
               kStart);
  }
  AddSettled(profile,
             Sample({Thread(1, ThreadState::kHoldingGil, "light"),
                     Thread(2, ThreadState::kWaitingForGil, "queue")}),
             kStart);
  const std::vector<ViewStack> blame = ViewStacks(profile, ProfileMode::kBlame);
  ASSERT_EQ(blame.size(), 2u);
  EXPECT_EQ(blame[0].weight, 3);
  EXPECT_EQ(profile.stacks().frame(blame[0].frames.front()).function, "<module>");
  EXPECT_EQ(profile.stacks().frame(blame[0].frames.back()).function, "hog");
  EXPECT_EQ(blame[1].weight, 1);
  EXPECT_EQ(TotalWeight(blame), 4);
  const std::vector<ViewStack> wait = ViewStacks(profile, ProfileMode::kWait);
  ASSERT_EQ(wait.size(), 1u);
  EXPECT_EQ(wait[0].state, ThreadState::kWaitingForGil);
}

TEST(ViewsTest, WallKeepsStatesApartGilViewsMergeThem) {
  Profile profile;
  AddSettled(profile, Sample({Thread(1, ThreadState::kHoldingGil, "work")}), kStart);
  AddSettled(profile, Sample({Thread(1, ThreadState::kRunningWithoutGil, "work")}), kStart);
  EXPECT_TRUE(ViewTagsState(ProfileMode::kWall));
  EXPECT_FALSE(ViewTagsState(ProfileMode::kGil));
  const std::vector<ViewStack> wall = ViewStacks(profile, ProfileMode::kWall);
  ASSERT_EQ(wall.size(), 2u);
  EXPECT_NE(wall[0].state, wall[1].state);
  EXPECT_EQ(wall[0].frames, wall[1].frames);
}

TEST(ViewsTest, StacksAreSplitByInterpreterOnlyWhenAsked) {
  // The same code run in two subinterpreters (as code given to interp.exec() often is).
  Profile profile;
  for (int i = 0; i < 3; ++i) {
    ThreadSnapshot first = Thread(1, ThreadState::kHoldingGil, "spin");
    first.interpreter_id = 1;
    ThreadSnapshot second = Thread(2, ThreadState::kHoldingGil, "spin");
    second.interpreter_id = 2;
    Snapshot snapshot = Sample({first, second});
    snapshot.gils.push_back(GilSnapshot{});
    snapshot.threads[0].gil_index = 0;
    snapshot.threads[1].gil_index = 1;
    AddSettled(profile, snapshot, kStart);
  }
  const std::vector<ViewStack> merged = ViewStacks(profile, ProfileMode::kGil);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].weight, 6);
  EXPECT_EQ(merged[0].interpreter_id, -1);
  const std::vector<ViewStack> split =
      ViewStacks(profile, ProfileMode::kGil, ByInterpreter::kSplit);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0].interpreter_id, 1);
  EXPECT_EQ(split[1].interpreter_id, 2);
  EXPECT_EQ(split[0].weight, 3);
  EXPECT_EQ(split[0].frames, split[1].frames);
}

TEST(ViewsTest, TopLeafFramesSumSelfWeight) {
  Profile profile;
  for (int i = 0; i < 5; ++i) {
    AddSettled(profile,
               Sample({Thread(1, ThreadState::kHoldingGil, i < 4 ? "hog" : "light"),
                       Thread(2, ThreadState::kWaitingForGil, "queue"),
                       Thread(3, ThreadState::kWaitingForGil, "queue2")}),
               kStart);
  }
  const std::vector<SiteWeight> top = TopLeafFrames(profile, ProfileMode::kBlame, 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(profile.stacks().frame(top[0].frame).function, "hog");
  EXPECT_EQ(top[0].weight, 8);  // 4 samples x 2 waiters
  EXPECT_EQ(TopLeafFrames(profile, ProfileMode::kWait, 10).size(), 2u);
}

}  // namespace
}  // namespace gilscope
