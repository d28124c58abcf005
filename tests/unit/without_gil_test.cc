// The what-if estimate: an upper bound on the gain without the GIL, from made-up recordings of
// known shape and CPU budgets of 1, 2 and 4 CPUs; and the CPU budget's parsers.
#include "gilscope/aggregate/without_gil.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gilscope/aggregate/profile.h"
#include "gilscope/proc/cpu_budget.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

using ::testing::HasSubstr;
using Kind = WithoutGilEstimate::Kind;

const absl::Time kStart = absl::FromUnixSeconds(1000);
constexpr int kSamples = 100;

ThreadSnapshot Thread(pid_t tid, ThreadState state, const std::string& function,
                      FrameKind kind = FrameKind::kPython) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = state;
  if (state == ThreadState::kIdle) thread.blocked_in = "clock_nanosleep";
  thread.frames = {{function, "/app.py", 10}, {"<module>", "/app.py", 1}};
  thread.frames.front().kind = kind;
  return thread;
}

// `samples` samples of one GIL; `threads_at(i)` gives sample i's threads.
template <typename ThreadsAt>
Profile Recording(ThreadsAt threads_at, int samples = kSamples) {
  Profile profile;
  for (int i = 0; i < samples; ++i) {
    Snapshot snapshot;
    snapshot.threads = threads_at(i);
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(profile, std::move(snapshot), kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

// `spinners` pure-Python threads taking turns on the GIL: one holds, the others wait.
Profile Spinners(int spinners, int samples = kSamples) {
  return Recording(
      [&](int i) {
        std::vector<ThreadSnapshot> threads;
        for (int t = 0; t < spinners; ++t) {
          threads.push_back(Thread(
              10 + t, t == i % spinners ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil,
              "spin"));
        }
        return threads;
      },
      samples);
}

CpuBudget Cpus(double cpus) { return CpuBudget{cpus, "its affinity", false}; }

TEST(WithoutGilTest, TwoSpinnersGoTwiceAsFastOnTwoCpusAndNoFasterOnOne) {
  const Profile profile = Spinners(2);
  const WithoutGilEstimate two = EstimateWithoutGil(profile, Cpus(2));
  EXPECT_EQ(two.kind, Kind::kGain);
  EXPECT_DOUBLE_EQ(two.speedup, 2.0);
  EXPECT_DOUBLE_EQ(two.waiting_share, 0.5);
  EXPECT_DOUBLE_EQ(two.mean_wanting, 2.0);
  EXPECT_EQ(two.text,
            "up to 2.00\u00d7 faster without the GIL: 2.0 threads want a CPU on average and wait "
            "for the GIL in 50% of that time; 2 CPUs available (its affinity)");
  const WithoutGilEstimate one = EstimateWithoutGil(profile, Cpus(1));
  EXPECT_EQ(one.kind, Kind::kNoGain);
  EXPECT_DOUBLE_EQ(one.speedup, 1.0);
  EXPECT_THAT(one.text, HasSubstr("no faster without the GIL: "));
  EXPECT_THAT(one.text, HasSubstr("1 CPU available"));
}

TEST(WithoutGilTest, FourSpinnersAreBoundByTheCpusAndTheQuota) {
  const Profile profile = Spinners(4);
  EXPECT_DOUBLE_EQ(EstimateWithoutGil(profile, Cpus(4)).speedup, 4.0);
  EXPECT_DOUBLE_EQ(EstimateWithoutGil(profile, Cpus(2)).speedup, 2.0);
  EXPECT_DOUBLE_EQ(EstimateWithoutGil(profile, Cpus(1.5)).speedup, 1.5);  // a cgroup quota
  EXPECT_DOUBLE_EQ(EstimateWithoutGil(profile, Cpus(16)).speedup, 4.0);   // no more than wanted
}

TEST(WithoutGilTest, HashersAndSleepersGainNothing) {
  const Profile hashers = Recording([](int) {
    return std::vector{Thread(1, ThreadState::kRunningWithoutGil, "hash"),
                       Thread(2, ThreadState::kRunningWithoutGil, "hash")};
  });
  const WithoutGilEstimate hashing = EstimateWithoutGil(hashers, Cpus(2));
  EXPECT_EQ(hashing.kind, Kind::kNoGain);
  EXPECT_DOUBLE_EQ(hashing.speedup, 1.0);
  EXPECT_THAT(hashing.text, HasSubstr("native_releases_gil"));
  const Profile sleepers = Recording([](int) {
    return std::vector{Thread(1, ThreadState::kIdle, "sleep"),
                       Thread(2, ThreadState::kIdle, "sleep")};
  });
  const WithoutGilEstimate sleeping = EstimateWithoutGil(sleepers, Cpus(4));
  EXPECT_EQ(sleeping.kind, Kind::kNoGain);
  EXPECT_THAT(sleeping.text, HasSubstr("idle"));
}

TEST(WithoutGilTest, SpinnersBesideAHasherGainOnlyWhatTheCpusLeave) {
  // Two spinners take turns while a hasher runs without the GIL: 3 threads want a CPU, 2 have
  // one. Two CPUs are already busy: no gain; four would give 3/2.
  const Profile mix = Recording([](int i) {
    return std::vector{
        Thread(1, i % 2 == 0 ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil, "spin"),
        Thread(2, i % 2 == 1 ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil, "spin"),
        Thread(3, ThreadState::kRunningWithoutGil, "hash")};
  });
  EXPECT_EQ(EstimateWithoutGil(mix, Cpus(2)).kind, Kind::kNoGain);
  EXPECT_DOUBLE_EQ(EstimateWithoutGil(mix, Cpus(4)).speedup, 1.5);
}

TEST(WithoutGilTest, ANativeHolderNeedsItsCallToReleaseTheGil) {
  const Profile native = Recording([](int) {
    return std::vector{
        Thread(1, ThreadState::kHoldingGilInNative, "sre_ucs1_match", FrameKind::kNative),
        Thread(2, ThreadState::kWaitingForGil, "backtrack")};
  });
  const WithoutGilEstimate estimate = EstimateWithoutGil(native, Cpus(2));
  EXPECT_EQ(estimate.kind, Kind::kNeedsNativeRelease);
  EXPECT_DOUBLE_EQ(estimate.speedup, 2.0);
  EXPECT_THAT(estimate.text, HasSubstr("only once sre_ucs1_match stops holding the GIL"));
  // Without --native the blamed leaf is the Python function making the call.
  const Profile python_leaf = Recording([](int) {
    return std::vector{Thread(1, ThreadState::kHoldingGilInNative, "backtrack"),
                       Thread(2, ThreadState::kWaitingForGil, "backtrack")};
  });
  EXPECT_THAT(EstimateWithoutGil(python_leaf, Cpus(2)).text,
              HasSubstr("only once the native call in backtrack stops holding the GIL"));
}

TEST(WithoutGilTest, ShortRecordingsSayNotEnoughSamples) {
  const WithoutGilEstimate estimate = EstimateWithoutGil(Spinners(2, 49), Cpus(2));
  EXPECT_EQ(estimate.kind, Kind::kNotEnoughSamples);
  EXPECT_THAT(estimate.text, HasSubstr("not enough samples"));
  EXPECT_THAT(estimate.text, HasSubstr("49 with a thread on a CPU, 50 needed"));
  EXPECT_EQ(EstimateWithoutGil(Spinners(2, 50), Cpus(2)).kind, Kind::kGain);
}

TEST(WithoutGilTest, EachGilOfSeveralIsEstimatedFromItsOwnThreads) {
  // Interpreter 0's two spinners take turns on its GIL; interpreter 1's one spinner has its
  // own GIL to itself.
  Profile profile;
  for (int i = 0; i < kSamples; ++i) {
    Snapshot snapshot;
    ThreadSnapshot a =
        Thread(1, i % 2 ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil, "spin");
    ThreadSnapshot b =
        Thread(2, i % 2 ? ThreadState::kWaitingForGil : ThreadState::kHoldingGil, "spin");
    ThreadSnapshot c = Thread(3, ThreadState::kHoldingGil, "alone");
    a.gil_index = b.gil_index = 0;
    c.gil_index = 1;
    c.interpreter_id = 1;
    snapshot.threads = {a, b, c};
    snapshot.gils.resize(2);
    snapshot.gils[1].interpreter_id = 1;
    AddSettled(profile, std::move(snapshot), kStart + absl::Milliseconds(10 * i));
  }
  const auto per_gil = EstimateWithoutGilPerGil(profile, Cpus(4));
  ASSERT_EQ(per_gil.size(), 2u);
  EXPECT_EQ(per_gil[0].first, 0);
  EXPECT_DOUBLE_EQ(per_gil[0].second.speedup, 2.0);
  EXPECT_EQ(per_gil[1].first, 1);
  EXPECT_EQ(per_gil[1].second.kind, Kind::kNoGain);  // nobody waits for it
  // The whole process: 3 want a CPU, 2 have one.
  EXPECT_DOUBLE_EQ(EstimateWithoutGil(profile, Cpus(4)).speedup, 1.5);
  EXPECT_TRUE(EstimateWithoutGilPerGil(Spinners(2), Cpus(2)).empty());
}

TEST(CpuBudgetTest, ParsesCpuListsAndQuotas) {
  EXPECT_EQ(CountCpuList("0-3,8,10-11\n"), 7);
  EXPECT_EQ(CountCpuList("0"), 1);
  EXPECT_EQ(CountCpuList(""), std::nullopt);
  EXPECT_EQ(CountCpuList("3-1"), std::nullopt);
  EXPECT_EQ(CountCpuList("a-b"), std::nullopt);
  EXPECT_EQ(CountCpuList("0-99999999"), std::nullopt);
  EXPECT_EQ(CpuMaxQuota("150000 100000\n"), 1.5);
  EXPECT_EQ(CpuMaxQuota("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpuMaxQuota("0 100000"), std::nullopt);
  EXPECT_EQ(CpuMaxQuota("garbage"), std::nullopt);
  EXPECT_EQ(CfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CfsQuota("50000\n", "100000\n"), 0.5);
}

TEST(CpuBudgetTest, FindsTheCpuControllerAndRefusesPathsThatClimb) {
  const CgroupPaths v1 = ParseProcCgroup("4:memory:/x\n2:cpu,cpuacct:/app/web\n0::/\n");
  EXPECT_EQ(v1.cpu_v1, "/app/web");
  EXPECT_EQ(v1.cpu_v1_controllers, "cpu,cpuacct");
  EXPECT_EQ(v1.unified, "/");
  const CgroupPaths v2 = ParseProcCgroup("0::/system.slice/app:with:colons.service\n");
  EXPECT_EQ(v2.unified, "/system.slice/app:with:colons.service");
  EXPECT_EQ(v2.cpu_v1, "");
  EXPECT_EQ(ParseProcCgroup("0::/../../etc\n").unified, "");
  EXPECT_EQ(ParseProcCgroup("0::relative\n").unified, "");
}

// This process's own budget, its cgroup file system replaced by a directory of made-up files:
// the quota bounds the affinity; unreadable or absent files leave the affinity alone.
TEST(CpuBudgetTest, AQuotaBoundsTheAffinity) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("gilscope-cgroup-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::ifstream own("/proc/self/cgroup");
  const std::string text((std::istreambuf_iterator<char>(own)), std::istreambuf_iterator<char>());
  const CgroupPaths paths = ParseProcCgroup(text);
  const CpuBudget plain = ReadCpuBudget(getpid(), root.string());
  EXPECT_FALSE(plain.from_machine);
  EXPECT_EQ(plain.source, "its affinity");
  EXPECT_GE(plain.cpus, 1);
  if (paths.unified.empty()) GTEST_SKIP() << "no unified cgroup line in /proc/self/cgroup";
  const std::filesystem::path own_dir = root / paths.unified.substr(1);
  std::filesystem::create_directories(own_dir);
  std::ofstream(own_dir / "cpu.max") << "50000 100000\n";
  const CpuBudget quota = ReadCpuBudget(getpid(), root.string());
  EXPECT_DOUBLE_EQ(quota.cpus, std::min(0.5, plain.cpus));
  EXPECT_THAT(quota.source, HasSubstr("cgroup's CPU quota"));
  std::filesystem::remove_all(root);
}

TEST(CpuBudgetTest, AProcessThatIsGoneFallsBackToTheMachine) {
  const CpuBudget budget = ReadCpuBudget(4194303);
  EXPECT_TRUE(budget.from_machine);
  EXPECT_EQ(budget.cpus, static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_THAT(budget.source, HasSubstr("could not be read"));
}

}  // namespace
}  // namespace gilscope
