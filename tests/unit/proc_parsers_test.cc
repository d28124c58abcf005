#include "gilscope/proc/proc_parsers.h"

#include <gtest/gtest.h>

namespace gilscope {
namespace {

TEST(ParseMapsTest, ReadsFileAndAnonymousMappings) {
  auto maps = ParseMaps(
      "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/python3.11\n"
      "7f2a1c000000-7f2a1c021000 rw-p 00000000 00:00 0 \n"
      "7f2a1d000000-7f2a1d100000 r--p 00001000 08:02 42  /tmp/lib with space.so (deleted)\n");
  ASSERT_TRUE(maps.ok()) << maps.status();
  ASSERT_EQ(maps->size(), 3u);
  EXPECT_EQ((*maps)[0].start, 0x400000u);
  EXPECT_EQ((*maps)[0].path, "/usr/bin/python3.11");
  EXPECT_TRUE((*maps)[0].executable);
  EXPECT_TRUE((*maps)[1].path.empty());
  EXPECT_TRUE((*maps)[1].writable);
  EXPECT_EQ((*maps)[2].path, "/tmp/lib with space.so");
  EXPECT_TRUE((*maps)[2].deleted);
  EXPECT_EQ((*maps)[2].file_offset, 0x1000u);
}

TEST(ParseMapsTest, RejectsGarbage) { EXPECT_FALSE(ParseMaps("not a maps line\n").ok()); }

TEST(ParseStatTest, CommWithParenthesesAndSpaces) {
  auto stat = ParseStat("123 (evil) S (name) R 1 2 3");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->comm, "evil) S (name");
  EXPECT_EQ(stat->state, 'R');
  EXPECT_FALSE(ParseStat("123 no parens").ok());
  EXPECT_FALSE(ParseStat("123 (x)").ok());
}

TEST(ParseSchedstatTest, ThreeNumbers) {
  auto stat = ParseSchedstat("4000779415 217404481 90\n");
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->run_ns, 4000779415u);
  EXPECT_EQ(stat->wait_ns, 217404481u);
  EXPECT_EQ(stat->run_count, 90u);
  EXPECT_FALSE(ParseSchedstat("1 2").ok());
  EXPECT_FALSE(ParseSchedstat("1 2 3 4").ok());
  EXPECT_FALSE(ParseSchedstat("1 x 3").ok());
  EXPECT_FALSE(ParseSchedstat("").ok());
}

TEST(ParseSyscallTest, AllThreeShapes) {
  auto running = ParseSyscall("running\n");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->kind, TaskSyscall::Kind::kRunning);

  auto user = ParseSyscall("-1 0x7f31f2ffdc70 0x7f31f43cf04e\n");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->kind, TaskSyscall::Kind::kUserSpace);
  EXPECT_EQ(user->program_counter, 0x7f31f43cf04eu);

  auto futex = ParseSyscall(
      "202 0x7f31f4856200 0x89 0x0 0x7f31f37febf0 0x0 0xffffffff 0x7f31f37feac0 0x7f31f40a3f16\n");
  ASSERT_TRUE(futex.ok());
  EXPECT_EQ(futex->kind, TaskSyscall::Kind::kInSyscall);
  EXPECT_EQ(futex->number, 202);
  EXPECT_EQ(futex->args[0], 0x7f31f4856200u);
  EXPECT_EQ(futex->args[1], 0x89u);

  EXPECT_FALSE(ParseSyscall("202 0x1 0x2").ok());
  EXPECT_FALSE(ParseSyscall("").ok());
}

TEST(ParseTracerPidTest, FindsTheLine) {
  EXPECT_EQ(ParseTracerPid("Name:\tpython\nTracerPid:\t4321\nUid:\t0\n"), 4321);
  EXPECT_EQ(ParseTracerPid("Name:\tpython\n"), std::nullopt);
}

TEST(SyscallNameTest, KnownAndUnknown) {
  EXPECT_EQ(SyscallName(202), "futex");
  EXPECT_EQ(SyscallName(99999), "syscall 99999");
}

}  // namespace
}  // namespace gilscope
