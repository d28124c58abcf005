// Profile: what each view weighs, the GIL figures, and the verdict table, on made-up samples.
#include "gilscope/aggregate/profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gilscope/aggregate/stack_table.h"
#include "support/settled_sample.h"

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
    if (!frames.empty() && profile.stacks().frame(frames.back()).function == function)
      total += weight;
  }
  return total;
}

const absl::Time kStart = absl::FromUnixSeconds(1000);

// Frames are one when their contents are, whether their texts are shared copies or made apart.
TEST(StackTableTest, FramesAreInternedByContentSharedOrNot) {
  StackTable table;
  const Frame first{"spin", "/app.py", 3};
  const Frame copy = first;                                           // shares first's texts
  const Frame apart{std::string("spin"), std::string("/app.py"), 3};  // texts of its own
  const FrameId id = table.InternFrame(first);
  EXPECT_EQ(table.InternFrame(copy), id);
  EXPECT_EQ(table.InternFrame(apart), id);
  EXPECT_NE(table.InternFrame(Frame{"spin", "/app.py", 4}), id);
  EXPECT_NE(table.InternFrame(Frame{"spin", "/other.py", 3}), id);
  Frame native = first;
  native.kind = FrameKind::kNative;
  EXPECT_NE(table.InternFrame(native), id);
  EXPECT_EQ(table.frame(id), first);
}

TEST(ProfileTest, TwoSpinnersAreCpuBoundAndBlameTheSpinner) {
  Profile profile;
  for (int i = 0; i < 100; ++i) {
    AddSettled(profile,
               Sample({Thread(1, ThreadState::kHoldingGil, "spin"),
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

TEST(ProfileTest, ThreadsThatCameAndWentAreCombinedBeyondTheLimit) {
  // A long-lived spinner, and a new short-lived thread in every sample.
  Profile profile;
  const int kSamples = static_cast<int>(kMaxThreadsKept) * 3;
  for (int i = 0; i < kSamples; ++i) {
    AddSettled(profile,
               Sample({Thread(1, ThreadState::kHoldingGil, "spin"),
                       Thread(100 + i, ThreadState::kWaitingForGil, "short")},
                      static_cast<uint64_t>(i)),
               kStart + absl::Milliseconds(10 * i));
  }
  const std::vector<ThreadShare> threads = profile.Threads();
  EXPECT_LE(threads.size(), kMaxThreadsKept + 2);
  const ThreadShare& combined = threads.back();
  EXPECT_EQ(combined.native_id, 0);
  int64_t samples = 0, waiting = 0;
  for (const ThreadShare& thread : threads) {
    samples += thread.samples;
    waiting += thread.waiting;
  }
  EXPECT_EQ(samples, 2 * kSamples) << "nothing is lost by combining";
  EXPECT_EQ(waiting, kSamples);
  EXPECT_GT(combined.samples, 0);
  EXPECT_NE(combined.name.find("threads seen earlier"), std::string::npos) << combined.name;
  // The spinner, seen in every sample, keeps its own row; the newest short thread too.
  EXPECT_EQ(threads.front().native_id, 1);
  EXPECT_EQ(threads.front().samples, kSamples);
  EXPECT_EQ(threads[threads.size() - 2].native_id, 100 + kSamples - 1);
  EXPECT_EQ(profile.ComputeVerdict(), Verdict::kPythonCpuBound);
}

TEST(ProfileTest, LiveThreadsBeyondTheLimitAreNeverCombined) {
  Profile profile;
  std::vector<ThreadSnapshot> threads;
  for (int i = 0; i < static_cast<int>(kMaxThreadsKept) + 10; ++i) {
    threads.push_back(Thread(100 + i, ThreadState::kIdle, "sleep"));
  }
  for (int i = 0; i < 3; ++i) AddSettled(profile, Sample(threads, 0), kStart + absl::Seconds(i));
  const std::vector<ThreadShare> shares = profile.Threads();
  ASSERT_EQ(shares.size(), kMaxThreadsKept + 10);
  for (const ThreadShare& share : shares) EXPECT_EQ(share.samples, 3) << share.native_id;
}

TEST(ProfileTest, BlameIsWeightedByWaiters) {
  Profile profile;
  AddSettled(profile,
             Sample({Thread(1, ThreadState::kHoldingGil, "hog"),
                     Thread(2, ThreadState::kWaitingForGil, "a"),
                     Thread(3, ThreadState::kWaitingForGil, "b"),
                     Thread(4, ThreadState::kWaitingForGil, "c")},
                    0),
             kStart);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kBlame, "hog"), 3);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kGil, "hog"), 1);
  EXPECT_DOUBLE_EQ(profile.Figures().mean_waiters, 3.0);
}

TEST(ProfileTest, HolderInNativeCodeIsBlamedCountedAndOnCpu) {
  Profile profile;
  for (int i = 0; i < 4; ++i) {
    const ThreadState holder = i < 3 ? ThreadState::kHoldingGilInNative : ThreadState::kHoldingGil;
    AddSettled(profile,
               Sample({Thread(1, holder, "match"), Thread(2, ThreadState::kWaitingForGil, "w")}, 0),
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
  AddSettled(profile, Sample({Thread(3, ThreadState::kIdle, "sleep", "clock_nanosleep")}, 0),
             kStart);
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
       {Thread(1, ThreadState::kIdle, "accept", "accept4"),
        Thread(2, ThreadState::kIdle, "s", "clock_nanosleep")},
       Verdict::kIoBound},
      {"mostly I/O",
       {Thread(1, ThreadState::kIdle, "recv", "recvfrom"),
        Thread(2, ThreadState::kIdle, "recv", "recvfrom"),
        Thread(3, ThreadState::kHoldingGil, "parse")},
       Verdict::kIoBound},
      {"hashing outside the GIL",
       {Thread(1, ThreadState::kRunningWithoutGil, "hash"),
        Thread(2, ThreadState::kRunningWithoutGil, "hash")},
       Verdict::kNativeReleasesGil},
      {"spinners",
       {Thread(1, ThreadState::kHoldingGil, "spin"),
        Thread(2, ThreadState::kWaitingForGil, "spin")},
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
    for (int i = 0; i < 10; ++i)
      AddSettled(profile, Sample(c.threads, 0), kStart + absl::Milliseconds(i));
    EXPECT_EQ(profile.ComputeVerdict(), c.expected)
        << c.name << ": got " << VerdictName(profile.ComputeVerdict());
  }
}

TEST(ProfileTest, NativeHolderWithLittleContentionIsStillNativeHoldsGil) {
  // One thread in a C call that keeps the GIL, another mostly idle: contended in 1 sample of
  // 10, below the threshold. Rule 3 would have said native_holds_gil with more contention;
  // the same holder must not turn into Python work just because fewer threads queued.
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    const ThreadState other = i == 0 ? ThreadState::kWaitingForGil : ThreadState::kIdle;
    AddSettled(profile,
               Sample({Thread(1, ThreadState::kHoldingGilInNative, "encode"),
                       Thread(2, other, "handler", i == 0 ? "" : "clock_nanosleep")},
                      0),
               kStart + absl::Milliseconds(i));
  }
  const VerdictDecision decision = profile.Decide();
  EXPECT_EQ(decision.verdict, Verdict::kNativeHoldsGil) << decision.reason;
  EXPECT_EQ(decision.reason,
            "GIL contended in 10% of samples (< 20%); threads held the GIL in 50% of "
            "thread-samples, ran without it in 0%; holder in native code in 100% of them (>= 50%)");
}

TEST(ProfileTest, ContendedSamplesWithoutAHolderDoNotDiluteTheNativeShare) {
  // A hand-off in flight: waiters, no holder yet. Six contended samples in ten are such, the
  // rest have a holder in native code: the holder the waiters queue behind is native code.
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    const ThreadState first =
        i % 3 == 0 ? ThreadState::kHoldingGilInNative : ThreadState::kWaitingForGil;
    AddSettled(profile,
               Sample({Thread(1, first, "encode"), Thread(2, ThreadState::kWaitingForGil, "w")}, 0),
               kStart + absl::Milliseconds(i));
  }
  const VerdictDecision decision = profile.Decide();
  EXPECT_EQ(decision.verdict, Verdict::kNativeHoldsGil) << decision.reason;
  EXPECT_EQ(decision.reason,
            "GIL contended in 100% of samples (>= 20%); holder in native code in 100% of them "
            "(>= 50%)");
}

TEST(ProfileTest, VerdictReasonNamesTheDecidingFigures) {
  Profile spinners;
  Profile hashers;
  for (int i = 0; i < 10; ++i) {
    AddSettled(spinners,
               Sample({Thread(1, ThreadState::kHoldingGil, "spin"),
                       Thread(2, ThreadState::kWaitingForGil, "spin")},
                      0),
               kStart + absl::Milliseconds(i));
    AddSettled(hashers,
               Sample({Thread(1, ThreadState::kRunningWithoutGil, "hash"),
                       Thread(2, ThreadState::kIdle, "main", "futex")},
                      0),
               kStart + absl::Milliseconds(i));
  }
  EXPECT_EQ(spinners.Decide().reason,
            "GIL contended in 100% of samples (>= 20%); holder in native code in 0% of them "
            "(< 50%)");
  EXPECT_EQ(hashers.Decide().verdict, Verdict::kNativeReleasesGil);
  EXPECT_EQ(hashers.Decide().reason,
            "GIL contended in 0% of samples (< 20%); threads ran without the GIL in 50% of "
            "thread-samples, held it in 0%, idle in 50%");
  EXPECT_EQ(Profile().Decide().reason, "no Python thread was sampled");
}

TEST(ProfileTest, AdviceForCpuBoundCodeThatNobodyQueuesBehindDoesNotSayUseProcesses) {
  // A pool worker: one thread spinning alone, its GIL never contended. Still python_cpu_bound
  // (the CPU goes to bytecode), but "use processes" would be said to a process.
  Profile worker, spinners, native_alone;
  for (int i = 0; i < 10; ++i) {
    const absl::Time at = kStart + absl::Milliseconds(i);
    AddSettled(worker, Sample({Thread(1, ThreadState::kHoldingGil, "spin")}, 0), at);
    AddSettled(spinners,
               Sample({Thread(1, ThreadState::kHoldingGil, "spin"),
                       Thread(2, ThreadState::kWaitingForGil, "spin")},
                      0),
               at);
    AddSettled(native_alone,
               Sample({Thread(1, ThreadState::kHoldingGilInNative, "sre_ucs1_match")}, 0), at);
  }
  const VerdictDecision alone = worker.Decide();
  EXPECT_EQ(alone.verdict, Verdict::kPythonCpuBound);
  EXPECT_NE(std::string(alone.advice), VerdictAdvice(Verdict::kPythonCpuBound));
  EXPECT_THAT(alone.advice, ::testing::HasSubstr("hardly queue for the GIL"));
  EXPECT_THAT(alone.advice, ::testing::Not(::testing::HasSubstr("use processes")));
  EXPECT_EQ(std::string(spinners.Decide().advice), VerdictAdvice(Verdict::kPythonCpuBound));
  const VerdictDecision native = native_alone.Decide();
  EXPECT_EQ(native.verdict, Verdict::kNativeHoldsGil);
  EXPECT_THAT(native.advice, ::testing::HasSubstr("hardly queue"));
  EXPECT_EQ(std::string(Profile().Decide().advice), VerdictAdvice(Verdict::kIdle));
}

TEST(ProfileTest, PythonThreadNameReplacesOsNameOnceKnown) {
  Profile profile;
  ThreadSnapshot thread = Thread(7, ThreadState::kHoldingGil, "spin");
  thread.os_name = "python";
  AddSettled(profile, Sample({thread}, 0), kStart);
  thread.name = "spinner-1";
  AddSettled(profile, Sample({thread}, 0), kStart);
  thread.name.clear();  // a later sample that missed the name keeps the known one
  AddSettled(profile, Sample({thread}, 0), kStart);
  ASSERT_EQ(profile.Threads().size(), 1u);
  EXPECT_EQ(profile.Threads()[0].name, "spinner-1");
}

TEST(ProfileTest, NoSamplesIsIdleAndNoSwitchRate) {
  Profile profile;
  EXPECT_EQ(profile.ComputeVerdict(), Verdict::kIdle);
  EXPECT_FALSE(profile.Figures().switches_per_s.has_value());
}

// --- Several GILs (subinterpreters with their own, 3.12+) and none (free-threaded builds) ---

ThreadSnapshot InInterpreter(ThreadSnapshot thread, int64_t interpreter_id, int gil_index) {
  thread.interpreter_id = interpreter_id;
  thread.gil_index = gil_index;
  return thread;
}

// A sample of interpreters 0..gil_switches.size()-1, each with a GIL of its own whose switch
// counter reads gil_switches[i].
Snapshot PerGilSample(std::vector<ThreadSnapshot> threads, std::vector<uint64_t> gil_switches) {
  Snapshot snapshot;
  snapshot.threads = std::move(threads);
  for (size_t i = 0; i < gil_switches.size(); ++i) {
    GilSnapshot gil;
    gil.interpreter_id = static_cast<int64_t>(i);
    gil.switch_number = gil_switches[i];
    snapshot.gils.push_back(gil);
    snapshot.interpreters.push_back({static_cast<int64_t>(i), static_cast<int>(i)});
  }
  return snapshot;
}

const PerGilFigures& GilOf(const std::vector<PerGilFigures>& gils, int64_t interpreter_id) {
  for (const PerGilFigures& gil : gils) {
    if (gil.interpreter_id == interpreter_id) return gil;
  }
  ADD_FAILURE() << "no GIL of interpreter " << interpreter_id;
  static const PerGilFigures kNone;
  return kNone;
}

TEST(ProfileTest, TwoGilsHeldAtOnceAreCountedPerGil) {
  // GIVEN the main interpreter idle and two subinterpreters, each with a spinner holding its
  // GIL; the first has one thread waiting, the second two, in every sample
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    AddSettled(
        profile,
        PerGilSample({InInterpreter(Thread(1, ThreadState::kIdle, "main", "clock_nanosleep"), 0, 0),
                      InInterpreter(Thread(11, ThreadState::kHoldingGil, "spin_one"), 1, 1),
                      InInterpreter(Thread(12, ThreadState::kWaitingForGil, "wait_one"), 1, 1),
                      InInterpreter(Thread(21, ThreadState::kHoldingGil, "spin_two"), 2, 2),
                      InInterpreter(Thread(22, ThreadState::kWaitingForGil, "wait_two"), 2, 2),
                      InInterpreter(Thread(23, ThreadState::kWaitingForGil, "wait_two"), 2, 2)},
                     {5, 100 + 2 * static_cast<uint64_t>(i), 200 + 4 * static_cast<uint64_t>(i)}),
        kStart + absl::Milliseconds(10 * i));
  }
  // THEN each GIL has its own holder, waiters and hand-offs
  const std::vector<PerGilFigures> gils = profile.PerGil();
  ASSERT_EQ(gils.size(), 3u);
  EXPECT_DOUBLE_EQ(GilOf(gils, 0).held, 0.0);
  EXPECT_DOUBLE_EQ(GilOf(gils, 0).contention, 0.0);
  EXPECT_NEAR(*GilOf(gils, 0).switches_per_s, 0.0, 1e-9);
  EXPECT_FALSE(GilOf(gils, 0).mean_hold_ms.has_value());  // no hand-off: no mean hold
  EXPECT_DOUBLE_EQ(GilOf(gils, 1).held, 1.0);
  EXPECT_DOUBLE_EQ(GilOf(gils, 1).contention, 1.0);
  EXPECT_DOUBLE_EQ(GilOf(gils, 1).mean_waiters, 1.0);
  EXPECT_NEAR(*GilOf(gils, 1).switches_per_s, 200.0, 1e-6);
  EXPECT_NEAR(*GilOf(gils, 1).mean_hold_ms, 5.0, 1e-6);
  EXPECT_DOUBLE_EQ(GilOf(gils, 2).mean_waiters, 2.0);
  EXPECT_NEAR(*GilOf(gils, 2).switches_per_s, 400.0, 1e-6);
  EXPECT_NEAR(*GilOf(gils, 2).mean_hold_ms, 2.5, 1e-6);
  EXPECT_EQ(GilOf(gils, 2).interpreter_ids, std::vector<int64_t>{2});
  // AND the recording's figures take every GIL: a sample is held when any GIL is, waiters and
  // hand-offs add up, the mean hold is held time over hand-offs (not the main GIL's counter)
  const GilFigures figures = profile.Figures();
  EXPECT_DOUBLE_EQ(figures.gil_held, 1.0);
  EXPECT_DOUBLE_EQ(figures.contention, 1.0);
  EXPECT_DOUBLE_EQ(figures.mean_waiters, 3.0);
  EXPECT_NEAR(*figures.switches_per_s, 600.0, 1e-6);
  EXPECT_NEAR(*figures.mean_hold_ms, 2 * 0.09 * 1000 / (18 + 36), 1e-6);
  // AND both holders are in the gil view, each blamed for its own GIL's waiters only
  EXPECT_EQ(WeightOf(profile, ProfileMode::kGil, "spin_one"), 10);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kGil, "spin_two"), 10);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kBlame, "spin_one"), 10);
  EXPECT_EQ(WeightOf(profile, ProfileMode::kBlame, "spin_two"), 20);
  EXPECT_EQ(profile.InterpreterIds(), (std::vector<int64_t>{0, 1, 2}));
  const std::vector<ThreadShare> threads = profile.Threads();
  ASSERT_EQ(threads.size(), 6u);
  EXPECT_EQ(threads[0].interpreter_id, 0);
  EXPECT_EQ(threads[5].interpreter_id, 2);
  EXPECT_EQ(profile.ComputeVerdict(), Verdict::kPythonCpuBound);
}

TEST(ProfileTest, VerdictJudgesNativeCodeByTheHolderOfTheGilThatWasWaitedFor) {
  // Subinterpreter 1: a holder in native code with a thread waiting for it. Subinterpreter 2: a
  // holder running Python, alone. The second is listed first: a verdict that looked at "the"
  // holder of a sample would see Python.
  const auto sample = [](ThreadState blocking_holder, ThreadState lone_holder) {
    return PerGilSample({InInterpreter(Thread(21, lone_holder, "alone"), 2, 2),
                         InInterpreter(Thread(11, blocking_holder, "c_call", "nanosleep"), 1, 1),
                         InInterpreter(Thread(12, ThreadState::kWaitingForGil, "w"), 1, 1)},
                        {0, 0, 0});
  };
  Profile native_blocks;
  Profile python_blocks;
  for (int i = 0; i < 10; ++i) {
    AddSettled(native_blocks, sample(ThreadState::kHoldingGilInNative, ThreadState::kHoldingGil),
               kStart);
    AddSettled(python_blocks, sample(ThreadState::kHoldingGil, ThreadState::kHoldingGilInNative),
               kStart);
  }
  EXPECT_EQ(native_blocks.ComputeVerdict(), Verdict::kNativeHoldsGil);
  EXPECT_EQ(python_blocks.ComputeVerdict(), Verdict::kPythonCpuBound);
  // Of all held GIL-samples, half had their holder in native code.
  EXPECT_DOUBLE_EQ(native_blocks.Figures().held_in_native, 0.5);
  EXPECT_DOUBLE_EQ(GilOf(native_blocks.PerGil(), 1).held_in_native, 1.0);
  EXPECT_DOUBLE_EQ(GilOf(native_blocks.PerGil(), 2).held_in_native, 0.0);
}

TEST(ProfileTest, LegacySubinterpreterSharesTheMainGilsFigures) {
  Profile profile;
  for (int i = 0; i < 4; ++i) {
    Snapshot snapshot =
        Sample({InInterpreter(Thread(1, ThreadState::kHoldingGil, "spin"), 1, 0),
                InInterpreter(Thread(2, ThreadState::kWaitingForGil, "spin"), 1, 0),
                InInterpreter(Thread(3, ThreadState::kIdle, "main", "futex"), 0, 0)},
               0);
    snapshot.interpreters = {{0, 0}, {1, 0}};
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(i));
  }
  const std::vector<PerGilFigures> gils = profile.PerGil();
  ASSERT_EQ(gils.size(), 1u);
  EXPECT_EQ(gils[0].interpreter_id, 0);
  EXPECT_EQ(gils[0].interpreter_ids, (std::vector<int64_t>{0, 1}));
  EXPECT_DOUBLE_EQ(gils[0].contention, 1.0);
  EXPECT_EQ(profile.InterpreterIds(), (std::vector<int64_t>{0, 1}));
}

TEST(ProfileTest, PerGilSharesAreOfTheSamplesInWhichTheGilExisted) {
  // A subinterpreter created halfway through, its GIL always held from then on.
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    std::vector<ThreadSnapshot> threads = {
        InInterpreter(Thread(1, ThreadState::kIdle, "main", "futex"), 0, 0)};
    std::vector<uint64_t> gils = {0};
    if (i >= 5) {
      threads.push_back(InInterpreter(Thread(2, ThreadState::kHoldingGil, "spin"), 1, 1));
      gils.push_back(0);
    }
    AddSettled(profile, PerGilSample(threads, gils), kStart + absl::Milliseconds(i));
  }
  EXPECT_EQ(GilOf(profile.PerGil(), 1).samples, 5);
  EXPECT_DOUBLE_EQ(GilOf(profile.PerGil(), 1).held, 1.0);
  EXPECT_DOUBLE_EQ(profile.Figures().gil_held, 0.5);
}

TEST(ProfileTest, ThreadIsCountedInTheInterpreterItSpentMostSamplesIn) {
  Profile profile;
  for (int i = 0; i < 5; ++i) {
    const int64_t interpreter = i < 2 ? 0 : 1;
    AddSettled(profile,
               PerGilSample({InInterpreter(Thread(7, ThreadState::kHoldingGil, "run"), interpreter,
                                           static_cast<int>(interpreter))},
                            {0, 0}),
               kStart);
  }
  ASSERT_EQ(profile.Threads().size(), 1u);
  EXPECT_EQ(profile.Threads()[0].interpreter_id, 1);
}

TEST(ProfileTest, NoGilInAnySampleMeansEmptyGilViewsAndTheNoGilVerdict) {
  // GIVEN a free-threaded build without its GIL: two threads run Python in parallel
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    Snapshot snapshot = Sample({Thread(1, ThreadState::kRunningWithoutGil, "work"),
                                Thread(2, ThreadState::kRunningWithoutGil, "work")},
                               0);
    snapshot.gils[0].enabled = false;
    snapshot.gils[0].switch_number.reset();
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  const GilFigures figures = profile.Figures();
  EXPECT_TRUE(figures.gil_never_enabled);
  EXPECT_DOUBLE_EQ(figures.gil_disabled, 1.0);
  EXPECT_DOUBLE_EQ(figures.gil_held, 0.0);
  EXPECT_FALSE(figures.switches_per_s.has_value());
  EXPECT_EQ(profile.ComputeVerdict(), Verdict::kNoGil);
  EXPECT_STREQ(VerdictName(Verdict::kNoGil), "no_gil");
  EXPECT_TRUE(profile.weights(ProfileMode::kGil).empty());
  EXPECT_TRUE(profile.weights(ProfileMode::kWait).empty());
  EXPECT_TRUE(profile.weights(ProfileMode::kBlame).empty());
  EXPECT_EQ(WeightOf(profile, ProfileMode::kCpu, "work"), 20);

  // AND one sample with the GIL on (an extension turned it back on) is a GIL seen
  Snapshot with_gil = Sample({Thread(1, ThreadState::kHoldingGil, "work")}, 0);
  AddSettled(profile, with_gil, kStart + absl::Seconds(1));
  EXPECT_FALSE(profile.Figures().gil_never_enabled);
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
