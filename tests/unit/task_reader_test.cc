// ProcTaskReader on real tasks: this process's threads and a child's.
#include "gilscope/proc/task_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <thread>

namespace gilscope {
namespace {

bool Contains(const std::vector<pid_t>& tids, pid_t tid) {
  return std::find(tids.begin(), tids.end(), tid) != tids.end();
}

TEST(ProcTaskReaderTest, ListingAgainShowsThreadsComeAndGone) {
  ProcTaskReader reader(::getpid());
  std::promise<void> finish;
  std::promise<pid_t> started;
  std::thread thread([&] {
    started.set_value(::gettid());
    finish.get_future().wait();
  });
  const pid_t tid = started.get_future().get();

  absl::StatusOr<std::vector<pid_t>> with = reader.ListThreads();
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_TRUE(Contains(*with, ::getpid()));
  EXPECT_TRUE(Contains(*with, tid));
  EXPECT_TRUE(std::is_sorted(with->begin(), with->end()));

  finish.set_value();
  thread.join();
  // join() returns once the kernel clears the thread's tid word, a moment before the thread
  // leaves its group (kernel/exit.c): list again (same open directory) until it is gone.
  absl::StatusOr<std::vector<pid_t>> without;
  for (int i = 0; i < 1000; ++i) {
    without = reader.ListThreads();
    ASSERT_TRUE(without.ok()) << without.status();
    if (!Contains(*without, tid)) break;
    ::usleep(1000);
  }
  EXPECT_TRUE(Contains(*without, ::getpid()));
  EXPECT_FALSE(Contains(*without, tid));
}

TEST(ProcTaskReaderTest, ReadsWhatAThreadIsDoing) {
  ProcTaskReader reader(::getpid());
  std::promise<void> finish;
  std::promise<pid_t> started;
  std::thread thread([&] {
    started.set_value(::gettid());
    finish.get_future().wait();  // blocks in futex
  });
  const pid_t tid = started.get_future().get();
  absl::StatusOr<TaskActivity> activity;
  // Give it a moment to block; then it stays blocked until told to finish.
  for (int i = 0; i < 200; ++i) {
    activity = reader.ReadTask(tid);
    ASSERT_TRUE(activity.ok()) << activity.status();
    if (activity->syscall.kind == TaskSyscall::Kind::kInSyscall) break;
    ::usleep(5000);
  }
  EXPECT_EQ(activity->tid, tid);
  EXPECT_FALSE(activity->comm.empty());
  EXPECT_EQ(activity->syscall.kind, TaskSyscall::Kind::kInSyscall);
  EXPECT_EQ(SyscallName(activity->syscall.number), "futex");
  // Read again through the files kept open.
  EXPECT_TRUE(reader.ReadTask(tid).ok());
  finish.set_value();
  thread.join();
  absl::Status status;
  for (int i = 0; i < 1000; ++i) {       // gone from its group a moment after join() returns
    reader.ListThreads().IgnoreError();  // forgets the files of threads gone
    status = reader.ReadTask(tid).status();
    if (absl::IsNotFound(status)) break;
    ::usleep(1000);
  }
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
}

// Reads the thread until a full read finds it blocked in a system call.
TaskActivity ReadUntilBlocked(ProcTaskReader& reader, pid_t tid) {
  absl::StatusOr<TaskActivity> activity;
  for (int i = 0; i < 1000; ++i) {
    activity = reader.ReadTask(tid);
    EXPECT_TRUE(activity.ok()) << activity.status();
    if (!activity.ok()) return {};
    if (activity->syscall.kind == TaskSyscall::Kind::kInSyscall) return *activity;
    ::usleep(1000);
  }
  ADD_FAILURE() << "thread " << tid << " never blocked";
  return {};
}

TEST(ProcTaskReaderTest, AThreadThatStayedBlockedIsUnchangedAndOneThatRanIsNot) {
  ProcTaskReader reader(::getpid());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::promise<pid_t> started;
  std::thread thread([&] {
    started.set_value(::gettid());
    char byte;
    while (::read(pipe_fds[0], &byte, 1) == 1 && byte != 'q') {
    }
  });
  const pid_t tid = started.get_future().get();
  const TaskActivity blocked = ReadUntilBlocked(reader, tid);
  EXPECT_FALSE(blocked.unchanged);
  absl::StatusOr<TaskActivity> again = reader.ReadTask(tid);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(again->syscall.number, blocked.syscall.number);
  EXPECT_EQ(again->comm, blocked.comm);

  // Woken, it runs and reads again: the next read is a full one, whatever it finds.
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<TaskActivity> after = reader.ReadTask(tid);
    ASSERT_TRUE(after.ok()) << after.status();
    if (!after->unchanged) break;
    ASSERT_LT(i, 999) << "a woken thread kept reading as unchanged";
    ::usleep(1000);
  }
  ReadUntilBlocked(reader, tid);  // blocked in its read again
  absl::StatusOr<TaskActivity> last = reader.ReadTask(tid);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->unchanged);

  ASSERT_EQ(::write(pipe_fds[1], "q", 1), 1);
  thread.join();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST(ProcTaskReaderTest, AProcessGoneIsNotFound) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ProcTaskReader reader(child);
  absl::StatusOr<std::vector<pid_t>> tids = reader.ListThreads();
  ASSERT_TRUE(tids.ok()) << tids.status();
  EXPECT_EQ(*tids, std::vector<pid_t>{child});
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(absl::IsNotFound(reader.ListThreads().status()));
  EXPECT_TRUE(absl::IsNotFound(reader.ReadTask(child).status()));
}

TEST(ReadSmallOpenFileTest, SaysWhenAFileMayNotFit) {
  UniqueFd stat(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(stat.valid());
  char small[8];
  EXPECT_TRUE(absl::IsOutOfRange(ReadSmallOpenFile(stat.get(), small, sizeof small).status()));
  char large[4096];
  absl::StatusOr<size_t> got = ReadSmallOpenFile(stat.get(), large, sizeof large);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(ParseStat(absl::string_view(large, *got)).ok());
}

}  // namespace
}  // namespace gilscope
