// Profile: what each view weighs, the GIL figures, and the verdict table, on made-up samples.
#include "gilscope/aggregate/profile.h"

#include <gtest/gtest.h>

namespace gilscope {
namespace {

ThreadSnapshot Thread(pid_t tid, ThreadState state, const std::string& function,
                      const std::string& blocked_in = "") {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = state;
  thread.blocked_in = blocked_in;
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

int64_t WeightOf(const Profile& profile, ProfileMode mode, const std::string& function) {
  int64_t total = 0;
  for (const auto& [key, weight] : profile.weights(mode)) {
    const auto& frames = profile.stacks().stack(key.stack);
    if (!frames.empty() && profile.stacks().frame(frames.back()).function == function) total += weight;
  }
  return total;
}

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(ProfileTest, TwoSpinnersAreCpuBoundAndBlameTheSpinner) {
  Profile profile;
  for (int i = 0; i < 100; ++i) {
    profile.AddSample(Sample({Thread(1, ThreadState::kHoldingGil, "spin"),
                              Thread(2, ThreadState::kWaitingForGil, "spin"),
                              Thread(3, ThreadState::kIdle, "sleep", "clock_nanosleep")},
                             static_cast<uint64_t>(i * 2)),
                      kStart + absl::Milliseconds(10 * i));
  }
  const GilFigures figures = profile.Figures();
  EXPECT_EQ(figures.samples, 100);
  EXPECT_DOUBLE_EQ(figures.gil_held, 1.0);
  EXPECT_DOUBLE_EQ(figures.contention, 1.0);
  EXPECT_DOUBLE_EQ(figures.mean_waiters, 1.0);
  ASSERT_TRUE(figures.switches_per_s.has_value());
  EXPECT_NEAR(*figures.switches_per_s, 200.0, 1e-6);  // 2 switches every 10 ms
  ASSERT_TRUE(figures.mean_hold_ms.has_value());
  EXPECT_NEAR(*figures.mean_hold_ms, 5.0, 1e-6);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kGil, "spin"), 100);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kWait, "spin"), 100);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kBlame, "spin"), 100);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kWall, "sleep"), 0);  // idle left out by default
  EXPECT_EQ(profile.ComputeVerdict(), Verdict::kPythonCpuBound);
}

TEST(ProfileTest, BlameIsWeightedByWaiters) {
  Profile profile;
  profile.AddSample(Sample({Thread(1, ThreadState::kHoldingGil, "hog"),
                            Thread(2, ThreadState::kWaitingForGil, "a"),
                            Thread(3, ThreadState::kWaitingForGil, "b"),
                            Thread(4, ThreadState::kWaitingForGil, "c")}, 0),
                    kStart);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kBlame, "hog"), 3);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kGil, "hog"), 1);
  EXPECT_DOUBLE_EQ(profile.Figures().mean_waiters, 3.0);
}

TEST(ProfileTest, HolderInNativeCodeIsBlamedCountedAndOnCpu) {
  Profile profile;
  for (int i = 0; i < 4; ++i) {
    const ThreadState holder = i < 3 ? ThreadState::kHoldingGilInNative : ThreadState::kHoldingGil;
    profile.AddSample(Sample({Thread(1, holder, "match"), Thread(2, ThreadState::kWaitingForGil, "w")}, 0),
                      kStart + absl::Milliseconds(i));
  }
  EXPECT_EQ(WeightOf(profile, ProfileMode::kBlame, "match"), 4);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kGil, "match"), 4);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kCpu, "match"), 4);
  EXPECT_DOUBLE_EQ(profile.Figures().gil_held, 1.0);
  EXPECT_DOUBLE_EQ(profile.Figures().held_in_native, 0.75);
  const std::vector<ThreadShare> threads = profile.Threads();
  ASSERT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads[0].held, 4);
  EXPECT_EQ(threads[0].held_in_native, 3);
}

TEST(ProfileTest, IdleKeptInWallOnlyWhenAsked) {
  Profile profile(/*keep_idle_in_wall=*/true);
  profile.AddSample(Sample({Thread(3, ThreadState::kIdle, "sleep", "clock_nanosleep")}, 0), kStart);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kWall, "sleep"), 1);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kCpu, "sleep"), 0);
}

struct VerdictCase {
  const char* name;
  std::vector<ThreadSnapshot> threads;
  Verdict expected;
};

TEST(ProfileTest, VerdictTable) {
  const VerdictCase cases[] = {
      {"all asleep", {Thread(1, ThreadState::kIdle, "s", "clock_nanosleep")}, Verdict::kIdle},
      {"all on locks", {Thread(1, ThreadState::kIdle, "w", "futex")}, Verdict::kIdle},
      {"server waiting for clients, nothing else",
       {Thread(1, ThreadState::kIdle, "accept", "accept4"), Thread(2, ThreadState::kIdle, "s", "clock_nanosleep")},
       Verdict::kIoBound},
      {"mostly I/O",
       {Thread(1, ThreadState::kIdle, "recv", "recvfrom"), Thread(2, ThreadState::kIdle, "recv", "recvfrom"),
        Thread(3, ThreadState::kHoldingGil, "parse")},
       Verdict::kIoBound},
      {"hashing outside the GIL",
       {Thread(1, ThreadState::kRunningWithoutGil, "hash"), Thread(2, ThreadState::kRunningWithoutGil, "hash")},
       Verdict::kNativeReleasesGil},
      {"spinners",
       {Thread(1, ThreadState::kHoldingGil, "spin"), Thread(2, ThreadState::kWaitingForGil, "spin")},
       Verdict::kPythonCpuBound},
      {"C call sleeping with the GIL",
       {Thread(1, ThreadState::kHoldingGilInNative, "c_call", "nanosleep"),
        Thread(2, ThreadState::kWaitingForGil, "w")},
       Verdict::kNativeHoldsGil},
      {"C call computing with the GIL",
       {Thread(1, ThreadState::kHoldingGilInNative, "sre_ucs1_match"),
        Thread(2, ThreadState::kWaitingForGil, "w")},
       Verdict::kNativeHoldsGil},
  };
  for (const VerdictCase& c : cases) {
    Profile profile;
    for (int i = 0; i < 10; ++i) profile.AddSample(Sample(c.threads, 0), kStart + absl::Milliseconds(i));
    EXPECT_EQ(profile.ComputeVerdict(), c.expected) << c.name << ": got " << VerdictName(profile.ComputeVerdict());
  }
}

TEST(ProfileTest, PythonThreadNameReplacesOsNameOnceKnown) {
  Profile profile;
  ThreadSnapshot thread = Thread(7, ThreadState::kHoldingGil, "spin");
  thread.os_name = "python";
  profile.AddSample(Sample({thread}, 0), kStart);
  thread.name = "spinner-1";
  profile.AddSample(Sample({thread}, 0), kStart);
  thread.name.clear();  // a later sample that missed the name keeps the known one
  profile.AddSample(Sample({thread}, 0), kStart);
  ASSERT_EQ(profile.Threads().size(), 1u);
  EXPECT_EQ(profile.Threads()[0].name, "spinner-1");
}

TEST(ProfileTest, NoSamplesIsIdleAndNoSwitchRate) {
  Profile profile;
  EXPECT_EQ(profile.ComputeVerdict(), Verdict::kIdle);
  EXPECT_FALSE(profile.Figures().switches_per_s.has_value());
}

TEST(StackTableTest, SameFramesSameIdsDifferentStacksDifferentIds) {
  StackTable table;
  const FrameId a = table.InternFrame({"f", "/x.py", 1});
  const FrameId b = table.InternFrame({"f", "/x.py", 2});
  EXPECT_NE(a, b);
  EXPECT_EQ(table.InternFrame({"f", "/x.py", 1}), a);
  EXPECT_NE(table.InternStack({a, b}), table.InternStack({b, a}));
  EXPECT_EQ(table.InternStack({a, b}), table.InternStack({a, b}));
  EXPECT_EQ(table.stack_count(), 2u);
}

TEST(ParseProfileModeTest, NamesRoundTrip) {
  for (ProfileMode mode : kAllModes) EXPECT_EQ(ParseProfileMode(ProfileModeName(mode)), mode);
  EXPECT_EQ(ParseProfileMode("flame"), std::nullopt);
}

}  // namespace
}  // namespace gilscope
