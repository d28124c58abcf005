// Unit tests of proc/process_tree (named apart from the integration test process_tree_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "gilscope/proc/proc_parsers.h"
#include "gilscope/proc/process_tree.h"

namespace gilscope {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<pid_t> Pids(const TreeMembers& tree) {
  std::vector<pid_t> pids;
  for (const ProcessLink& member : tree.members) pids.push_back(member.pid);
  return pids;
}

TEST(DescendantsInTreeOrderTest, DepthFirstWithSiblingsByPid) {
  // 1 ─┬─ 10 ─┬─ 30 ── 31
  //    │      └─ 12
  //    └─ 20 (not in the tree of 10); 5 a stranger.
  const std::vector<ProcessLink> links = {{31, 30}, {20, 1}, {12, 10}, {1, 0},
                                          {30, 10}, {10, 1}, {5, 1}};
  TreeMembers tree = DescendantsInTreeOrder(10, links);
  EXPECT_THAT(Pids(tree), ElementsAre(10, 12, 30, 31));
  EXPECT_EQ(tree.members[0], (ProcessLink{10, 1}));  // the root keeps its own parent
  EXPECT_EQ(tree.members[3], (ProcessLink{31, 30}));
  EXPECT_EQ(tree.left_out, 0u);
  EXPECT_THAT(Pids(DescendantsInTreeOrder(1, links)), ElementsAre(1, 5, 10, 12, 30, 31, 20));
}

TEST(DescendantsInTreeOrderTest, LeafAndMissingRoot) {
  const std::vector<ProcessLink> links = {{1, 0}, {7, 1}};
  EXPECT_THAT(Pids(DescendantsInTreeOrder(7, links)), ElementsAre(7));
  EXPECT_THAT(DescendantsInTreeOrder(8, links).members, IsEmpty());
  EXPECT_THAT(DescendantsInTreeOrder(8, {}).members, IsEmpty());
}

TEST(DescendantsInTreeOrderTest, SelfParentCyclesAndDuplicatesEndOnce) {
  // 4 is its own parent; 2 and 3 each other's (reused pids read at different moments); 6 is
  // listed under two parents.
  const std::vector<ProcessLink> links = {{2, 3}, {3, 2}, {4, 4}, {4, 2}, {6, 3}, {6, 2}, {2, 2}};
  TreeMembers tree = DescendantsInTreeOrder(2, links);
  EXPECT_THAT(Pids(tree), ElementsAre(2, 3, 4, 6));
  EXPECT_EQ(tree.left_out, 0u);
  // The parent that reached 6 first (the root, whose children are taken together) is the one
  // reported.
  EXPECT_EQ(tree.members[3].parent_pid, 2);
  EXPECT_THAT(Pids(DescendantsInTreeOrder(4, links)), ElementsAre(4));
}

TEST(DescendantsInTreeOrderTest, CapCountsTheRest) {
  std::vector<ProcessLink> links = {{1, 0}};
  for (pid_t pid = 2; pid <= 1001; ++pid) links.push_back({pid, 1});  // 1000 children
  TreeMembers tree = DescendantsInTreeOrder(1, links);
  ASSERT_EQ(tree.members.size(), kMaxTreeProcesses);
  EXPECT_EQ(tree.left_out, 1001u - kMaxTreeProcesses);
  EXPECT_EQ(tree.members.back().pid, static_cast<pid_t>(kMaxTreeProcesses));
  TreeMembers small = DescendantsInTreeOrder(1, links, 3);
  EXPECT_THAT(Pids(small), ElementsAre(1, 2, 3));
  EXPECT_EQ(small.left_out, 998u);
}

TEST(DescendantsInTreeOrderTest, LongChainNeedsNoRecursion) {
  std::vector<ProcessLink> links;
  for (pid_t pid = 1; pid <= 100000; ++pid) links.push_back({pid, pid - 1});
  TreeMembers tree = DescendantsInTreeOrder(1, links);
  EXPECT_EQ(tree.members.size(), kMaxTreeProcesses);
  EXPECT_EQ(tree.left_out, 100000u - kMaxTreeProcesses);
}

TEST(CommandLineTextTest, NulsBecomeSpaces) {
  EXPECT_EQ(CommandLineText(absl::string_view("python3\0-c\0print(1)\0", 21)),
            "python3 -c print(1)");
  EXPECT_EQ(CommandLineText(""), "");
  EXPECT_EQ(CommandLineText("\x1b[31m"), "\x1b[31m");  // escaping is the printer's job
}

TEST(ParseStatTest, ParentPid) {
  auto stat = ParseStat("123 (a) b) S 77 123 123 0 -1");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->parent_pid, 77);
  auto cut = ParseStat("123 (x) S");
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->parent_pid, -1);
  EXPECT_EQ(ParseStat("123 (x) S junk 1")->parent_pid, -1);
}

TEST(ReadProcessTreeTest, FindsAForkedChild) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  absl::StatusOr<ProcessTree> tree = ReadProcessTree(::getpid());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(tree.ok()) << tree.status();
  ASSERT_GE(tree->processes.size(), 2u);
  EXPECT_EQ(tree->processes[0].pid, ::getpid());
  EXPECT_EQ(tree->processes[0].parent_pid, ::getppid());
  EXPECT_NE(tree->processes[0].command_line.find("proc_tree_test"), std::string::npos);
  bool found = false;
  for (const TreeProcess& process : tree->processes) {
    if (process.pid == child) {
      found = true;
      EXPECT_EQ(process.parent_pid, ::getpid());
      EXPECT_FALSE(process.zombie);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(tree->unscanned, 0u);
  EXPECT_FALSE(ReadProcessTree(0).ok());
}

TEST(ReadProcessTreeTest, ZombieChild) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  // Exited, not reaped: waitid with WNOWAIT waits for the exit and leaves the zombie.
  siginfo_t info;
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  absl::StatusOr<ProcessTree> tree = ReadProcessTree(::getpid());
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(tree.ok()) << tree.status();
  int zombies = 0;
  for (const TreeProcess& process : tree->processes) {
    if (process.pid == child) {
      EXPECT_TRUE(process.zombie);
    }
    zombies += process.zombie ? 1 : 0;
  }
  EXPECT_EQ(zombies, 1);
}

}  // namespace
}  // namespace gilscope
