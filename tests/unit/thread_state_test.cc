#include "gilscope/sampler/thread_state.h"

#include <gtest/gtest.h>

namespace gilscope {
namespace {

constexpr RemoteAddress kCond = 0x1000020;

GilState Gil() {
  GilState gil;
  gil.locked = true;
  gil.wait_ranges = {{kCond, kCond + 48}};
  return gil;
}

constexpr uint64_t kFutexWaitBitsetPrivate = 9 | 128;
constexpr uint64_t kFutexWakePrivate = 1 | 128;

TaskActivity Task(TaskSyscall::Kind kind, int64_t number = -1, uint64_t arg0 = 0, uint64_t pc = 0,
                  uint64_t futex_op = kFutexWaitBitsetPrivate) {
  TaskActivity task;
  task.tid = 7;
  task.syscall.kind = kind;
  task.syscall.number = number;
  task.syscall.args[0] = arg0;
  task.syscall.args[1] = futex_op;
  task.syscall.args[2] = kCond + 8;  // other registers pointing into the GIL mean nothing
  task.syscall.program_counter = pc;
  return task;
}

struct Case {
  const char* name;
  bool holds;
  TaskActivity task;
  pid_t mutex_owner;
  ThreadState expected;
};

TEST(ClassifyThreadTest, Table) {
  const AddressRange take_gil{0x400000, 0x400100};
  const Case cases[] = {
      {"holder on cpu", true, Task(TaskSyscall::Kind::kUserSpace), 0, ThreadState::kHoldingGil},
      {"holder asleep in C", true, Task(TaskSyscall::Kind::kInSyscall, 35), 0,
       ThreadState::kHoldingGilInNative},
      {"holder waking the next holder: a hand-off, not native code", true,
       Task(TaskSyscall::Kind::kInSyscall, 202, kCond + 40, 0, kFutexWakePrivate), 0,
       ThreadState::kHoldingGil},
      {"futex on gil cond", false, Task(TaskSyscall::Kind::kInSyscall, 202, kCond + 40), 0,
       ThreadState::kWaitingForGil},
      {"plain FUTEX_WAIT on gil mutex", false,
       Task(TaskSyscall::Kind::kInSyscall, 202, kCond, 0, 0), 0, ThreadState::kWaitingForGil},
      {"FUTEX_WAKE on gil cond: inside the hand-off", false,
       Task(TaskSyscall::Kind::kInSyscall, 202, kCond + 40, 0, kFutexWakePrivate), 0,
       ThreadState::kWaitingForGil},
      {"futex elsewhere", false, Task(TaskSyscall::Kind::kInSyscall, 202, 0x2000000), 0,
       ThreadState::kIdle},
      {"gil wait resumed after our pause (restart_syscall keeps the futex's registers)", false,
       Task(TaskSyscall::Kind::kInSyscall, 219, kCond + 40), 0, ThreadState::kWaitingForGil},
      {"holder's resumed wait on the gil: a hand-off", true,
       Task(TaskSyscall::Kind::kInSyscall, 219, kCond + 40), 0, ThreadState::kHoldingGil},
      {"resumed sleep (clockid in arg0)", false, Task(TaskSyscall::Kind::kInSyscall, 219, 1), 0,
       ThreadState::kIdle},
      {"resumed wait on another futex", false, Task(TaskSyscall::Kind::kInSyscall, 219, 0x2000000),
       0, ThreadState::kIdle},
      {"gil address in arg0 of read", false, Task(TaskSyscall::Kind::kInSyscall, 0, kCond), 0,
       ThreadState::kIdle},
      {"sleeping", false, Task(TaskSyscall::Kind::kInSyscall, 230), 0, ThreadState::kIdle},
      {"on cpu, native", false, Task(TaskSyscall::Kind::kUserSpace, -1, 0, 0x900000), 0,
       ThreadState::kRunningWithoutGil},
      {"running, not paused", false, Task(TaskSyscall::Kind::kRunning), 0,
       ThreadState::kRunningWithoutGil},
      {"woken, owns gil mutex", false, Task(TaskSyscall::Kind::kUserSpace), 7,
       ThreadState::kWaitingForGil},
      {"inside take_gil", false, Task(TaskSyscall::Kind::kUserSpace, -1, 0, 0x400010), 0,
       ThreadState::kWaitingForGil},
  };
  for (const Case& c : cases) {
    GilState gil = Gil();
    gil.mutex_owner = c.mutex_owner;
    EXPECT_EQ(ClassifyThread(c.holds, &c.task, gil, take_gil).state, c.expected) << c.name;
  }
}

TEST(ClassifyThreadTest, UnknownWithoutProcInfo) {
  EXPECT_EQ(ClassifyThread(false, nullptr, Gil(), {}).state, ThreadState::kUnknown);
}

TEST(ClassifyThreadTest, NamesTheSyscall) {
  TaskActivity task = Task(TaskSyscall::Kind::kInSyscall, 232);
  EXPECT_EQ(ClassifyThread(false, &task, Gil(), {}).blocked_in, "epoll_wait");
}

TEST(ClassifyThreadTest, ResumedGilWaitIsNamedForTheFutexItResumes) {
  TaskActivity on_gil = Task(TaskSyscall::Kind::kInSyscall, 219, kCond + 40);
  EXPECT_EQ(ClassifyThread(false, &on_gil, Gil(), {}).blocked_in, "futex");
  TaskActivity elsewhere = Task(TaskSyscall::Kind::kInSyscall, 219, 0x2000000);
  EXPECT_EQ(ClassifyThread(false, &elsewhere, Gil(), {}).blocked_in, "restart_syscall");
}

}  // namespace
}  // namespace gilscope
