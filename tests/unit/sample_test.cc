// FillGilRoles: each GIL's holder and waiters settled once where a sample is made, indices made
// safe to follow; IsConsistent: whether a snapshot keeps those promises.
#include <gtest/gtest.h>

#include "gilscope/sample/snapshot.h"

namespace gilscope {
namespace {

ThreadSnapshot Thread(pid_t tid, ThreadState state, int gil_index, bool is_python = true) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = is_python;
  thread.state = state;
  thread.gil_index = gil_index;
  return thread;
}

// `gil_count` GILs, interpreter i using GIL i.
Snapshot WithGils(int gil_count, std::vector<ThreadSnapshot> threads) {
  Snapshot snapshot;
  for (int i = 0; i < gil_count; ++i) {
    snapshot.gils.push_back(GilSnapshot{.interpreter_id = i});
    snapshot.interpreters.push_back({i, i});
  }
  snapshot.threads = std::move(threads);
  return snapshot;
}

TEST(FillGilRolesTest, FindsTheHolderAndCountsTheWaiters) {
  // GIVEN one GIL: thread 2 holds it, 1 and 3 wait, 4 sleeps
  Snapshot snapshot = WithGils(
      1, {Thread(1, ThreadState::kWaitingForGil, 0), Thread(2, ThreadState::kHoldingGilInNative, 0),
          Thread(3, ThreadState::kWaitingForGil, 0), Thread(4, ThreadState::kIdle, 0)});
  EXPECT_FALSE(IsConsistent(snapshot));  // roles not settled yet: the waiters are uncounted
  // WHEN its roles are settled
  FillGilRoles(snapshot);
  // THEN the holder is thread 2 (index 1) and two threads wait
  EXPECT_EQ(snapshot.gils[0].holder_thread, 1);
  EXPECT_EQ(snapshot.gils[0].waiters, 2);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, AFreeGilHasNoHolder) {
  Snapshot snapshot = WithGils(
      1, {Thread(1, ThreadState::kRunningWithoutGil, 0), Thread(2, ThreadState::kIdle, 0)});
  FillGilRoles(snapshot);
  EXPECT_EQ(snapshot.gils[0].holder_thread, -1);
  EXPECT_EQ(snapshot.gils[0].waiters, 0);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, TwoHoldersOfOneGilKeepTheFirst) {
  // A torn read of an unpaused target can show the GIL changing hands mid-sample.
  Snapshot snapshot =
      WithGils(1, {Thread(1, ThreadState::kHoldingGil, 0), Thread(2, ThreadState::kHoldingGil, 0)});
  FillGilRoles(snapshot);
  EXPECT_EQ(snapshot.gils[0].holder_thread, 0);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, EachGilOfSeveralGetsItsOwnHolderAndWaiters) {
  // GIVEN three interpreters, each with a GIL of its own (isolated subinterpreters, 3.12+)
  Snapshot snapshot = WithGils(
      3, {Thread(10, ThreadState::kIdle, 0), Thread(11, ThreadState::kWaitingForGil, 1),
          Thread(12, ThreadState::kHoldingGil, 1), Thread(21, ThreadState::kWaitingForGil, 2),
          Thread(22, ThreadState::kWaitingForGil, 2), Thread(23, ThreadState::kHoldingGil, 2)});
  FillGilRoles(snapshot);
  // THEN a holder makes only its own GIL's threads wait
  EXPECT_EQ(snapshot.gils[0].holder_thread, -1);
  EXPECT_EQ(snapshot.gils[0].waiters, 0);
  EXPECT_EQ(snapshot.gils[1].holder_thread, 2);
  EXPECT_EQ(snapshot.gils[1].waiters, 1);
  EXPECT_EQ(snapshot.gils[2].holder_thread, 5);
  EXPECT_EQ(snapshot.gils[2].waiters, 2);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, LegacySubinterpretersShareTheMainGil) {
  Snapshot snapshot = WithGils(
      1, {Thread(10, ThreadState::kWaitingForGil, 0), Thread(11, ThreadState::kHoldingGil, 0)});
  snapshot.interpreters.push_back({1, 0});  // interpreter 1 uses interpreter 0's GIL
  FillGilRoles(snapshot);
  EXPECT_EQ(snapshot.interpreters[1].gil_index, 0);
  EXPECT_EQ(snapshot.gils[0].holder_thread, 1);
  EXPECT_EQ(snapshot.gils[0].waiters, 1);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, IndicesOutOfRangeBecomeMinusOne) {
  // GIVEN indices past the GILs, below -1, and a non-Python thread naming a GIL
  Snapshot snapshot = WithGils(
      2, {Thread(1, ThreadState::kHoldingGil, 2), Thread(2, ThreadState::kWaitingForGil, -7),
          Thread(3, ThreadState::kWaitingForGil, 0, /*is_python=*/false),
          Thread(4, ThreadState::kWaitingForGil, 1)});
  snapshot.interpreters.push_back({5, 9});
  snapshot.interpreters.push_back({6, -2});
  EXPECT_FALSE(IsConsistent(snapshot));
  FillGilRoles(snapshot);
  // THEN each is -1, and counts for no GIL
  EXPECT_EQ(snapshot.threads[0].gil_index, -1);
  EXPECT_EQ(snapshot.threads[1].gil_index, -1);
  EXPECT_EQ(snapshot.threads[2].gil_index, -1);
  EXPECT_EQ(snapshot.threads[3].gil_index, 1);
  EXPECT_EQ(snapshot.interpreters[2].gil_index, -1);
  EXPECT_EQ(snapshot.interpreters[3].gil_index, -1);
  EXPECT_EQ(snapshot.gils[0].holder_thread, -1);
  EXPECT_EQ(snapshot.gils[0].waiters, 0);
  EXPECT_EQ(snapshot.gils[1].holder_thread, -1);
  EXPECT_EQ(snapshot.gils[1].waiters, 1);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, NoGilsLeavesEveryIndexMinusOne) {
  // An interpreter shutting down can leave no GIL to read.
  Snapshot snapshot;
  snapshot.threads = {Thread(1, ThreadState::kHoldingGil, 0)};
  snapshot.interpreters.push_back({0, 0});
  FillGilRoles(snapshot);
  EXPECT_EQ(snapshot.threads[0].gil_index, -1);
  EXPECT_EQ(snapshot.interpreters[0].gil_index, -1);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, ADisabledGilHasNoHolderAndNoWaiters) {
  // GIVEN a free-threaded build running without its GIL: threads run Python in parallel
  Snapshot snapshot = WithGils(
      1, {Thread(1, ThreadState::kRunningWithoutGil, 0),
          Thread(2, ThreadState::kRunningWithoutGil, 0), Thread(3, ThreadState::kIdle, 0)});
  snapshot.gils[0].enabled = false;
  FillGilRoles(snapshot);
  // THEN the GIL keeps its users but has no roles
  EXPECT_EQ(snapshot.threads[0].gil_index, 0);
  EXPECT_EQ(snapshot.gils[0].holder_thread, -1);
  EXPECT_EQ(snapshot.gils[0].waiters, 0);
  EXPECT_TRUE(IsConsistent(snapshot));
}

TEST(FillGilRolesTest, SettlingTwiceChangesNothing) {
  Snapshot snapshot = WithGils(
      2, {Thread(1, ThreadState::kHoldingGil, 1), Thread(2, ThreadState::kWaitingForGil, 1),
          Thread(3, ThreadState::kHoldingGil, 5)});
  FillGilRoles(snapshot);
  const Snapshot once = snapshot;
  FillGilRoles(snapshot);
  EXPECT_EQ(snapshot.gils[1].holder_thread, once.gils[1].holder_thread);
  EXPECT_EQ(snapshot.gils[1].waiters, once.gils[1].waiters);
  EXPECT_EQ(snapshot.threads[2].gil_index, once.threads[2].gil_index);
}

// IsConsistent catches each promise broken on its own.
TEST(IsConsistentTest, CatchesEachBrokenPromise) {
  Snapshot settled = WithGils(
      2, {Thread(1, ThreadState::kHoldingGil, 0), Thread(2, ThreadState::kWaitingForGil, 0),
          Thread(3, ThreadState::kIdle, -1, /*is_python=*/false)});
  FillGilRoles(settled);
  ASSERT_TRUE(IsConsistent(settled));
  struct Case {
    const char* name;
    void (*breaks)(Snapshot&);
  };
  const Case cases[] = {
      {"thread index past the GILs", [](Snapshot& s) { s.threads[0].gil_index = 2; }},
      {"thread index below -1", [](Snapshot& s) { s.threads[1].gil_index = -2; }},
      {"interpreter index past the GILs", [](Snapshot& s) { s.interpreters[1].gil_index = 2; }},
      {"non-Python thread naming a GIL", [](Snapshot& s) { s.threads[2].gil_index = 1; }},
      {"holder missing", [](Snapshot& s) { s.gils[0].holder_thread = -1; }},
      {"holder not holding", [](Snapshot& s) { s.gils[0].holder_thread = 1; }},
      {"holder out of range", [](Snapshot& s) { s.gils[0].holder_thread = 7; }},
      {"holder of another GIL", [](Snapshot& s) { s.gils[1].holder_thread = 0; }},
      {"waiters miscounted", [](Snapshot& s) { s.gils[0].waiters = 2; }},
      {"waiter no longer waiting", [](Snapshot& s) { s.threads[1].state = ThreadState::kIdle; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Snapshot broken = settled;
    c.breaks(broken);
    EXPECT_FALSE(IsConsistent(broken));
  }
}

}  // namespace
}  // namespace gilscope
