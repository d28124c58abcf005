// ProcessPause on real child processes: every thread stopped, every thread let go, signals
// kept, threads born while pausing caught, SIGCHLD left as it was.
#include "gilscope/proc/process_pause.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/strings/str_format.h"
#include "gilscope/proc/proc_parsers.h"
#include "gilscope/proc/task_reader.h"

namespace gilscope {
namespace {

int child_signal_fd = -1;  // in the child: where its SIGUSR1 handler reports

void OnUsr1(int) {
  const char byte = 'u';
  [[maybe_unused]] ssize_t ignored = ::write(child_signal_fd, &byte, 1);
}

// A child process with `spinners` threads in a loop and `sleepers` in nanosleep, and with
// `churn` a thread that keeps starting short-lived threads. Killed when this goes away.
class Child {
 public:
  Child(int spinners, int sleepers, bool churn) {
    int ready[2], signals[2];
    if (::pipe(ready) != 0 || ::pipe(signals) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a test run that dies
      child_signal_fd = signals[1];
      ::signal(SIGUSR1, OnUsr1);
      for (int i = 0; i < spinners; ++i) {
        std::thread([] {
          volatile uint64_t n = 0;
          while (true) n = n + 1;
        }).detach();
      }
      for (int i = 0; i < sleepers; ++i) {
        std::thread([] {
          while (true) ::usleep(100000);
        }).detach();
      }
      if (churn) {
        std::thread([] {
          while (true) {
            std::thread([] { ::usleep(300); }).detach();
            ::usleep(100);
          }
        }).detach();
      }
      const char byte = 'r';
      if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
      while (true) ::pause();
    }
    ::close(ready[1]);
    ::close(signals[1]);
    signals_ = signals[0];
    char byte = 0;
    if (::read(ready[0], &byte, 1) != 1) std::abort();
    ::close(ready[0]);
  }
  ~Child() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(signals_);
  }

  pid_t pid() const { return pid_; }

  // True once the child's SIGUSR1 handler has run (again), within `timeout_ms`.
  bool HandledSignal(int timeout_ms) {
    pollfd fd{signals_, POLLIN, 0};
    if (::poll(&fd, 1, timeout_ms) != 1) return false;
    char byte = 0;
    return ::read(signals_, &byte, 1) == 1;
  }

 private:
  pid_t pid_ = 0;
  int signals_ = -1;
};

std::vector<pid_t> Threads(pid_t pid) {
  ProcTaskReader reader(pid);
  absl::StatusOr<std::vector<pid_t>> tids = reader.ListThreads();
  return tids.ok() ? *tids : std::vector<pid_t>{};
}

// The thread's state letter, or 'X' when it is gone.
char State(pid_t pid, pid_t tid) {
  absl::StatusOr<std::string> text =
      ReadProcFile(absl::StrFormat("/proc/%d/task/%d/stat", pid, tid));
  if (!text.ok()) return 'X';
  absl::StatusOr<TaskStat> stat = ParseStat(*text);
  return stat.ok() ? stat->state : 'X';
}

int TracerOf(pid_t pid, pid_t tid) {
  absl::StatusOr<std::string> text =
      ReadProcFile(absl::StrFormat("/proc/%d/task/%d/status", pid, tid));
  if (!text.ok()) return 0;
  return ParseTracerPid(*text).value_or(0);
}

// After a pause: nobody traces the threads and none stays stopped.
void ExpectLetGo(pid_t pid) {
  for (pid_t tid : Threads(pid)) {
    EXPECT_EQ(TracerOf(pid, tid), 0) << tid;
    char state = State(pid, tid);
    for (int i = 0; i < 100 && state == 't'; ++i) {  // the kernel wakes it as detach returns
      ::usleep(1000);
      state = State(pid, tid);
    }
    EXPECT_NE(state, 't') << tid;
    EXPECT_NE(state, 'T') << tid;
  }
}

TEST(ProcessPauseTest, StopsEveryThreadThenLetsThemGo) {
  Child child(2, 2, false);
  const std::vector<pid_t> tids = Threads(child.pid());
  ASSERT_EQ(tids.size(), 5u);
  {
    const absl::Time before = absl::Now();
    absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(child.pid());
    ASSERT_TRUE(pause.ok()) << pause.status();
    std::vector<pid_t> stopped = (*pause)->stopped_threads();
    std::sort(stopped.begin(), stopped.end());
    EXPECT_EQ(stopped, tids);
    for (pid_t tid : tids) EXPECT_EQ(State(child.pid(), tid), 't') << tid;
    EXPECT_GE((*pause)->stop_requested_at(), before);
    EXPECT_LE((*pause)->stop_requested_at(), absl::Now());
  }
  ExpectLetGo(child.pid());
}

TEST(ProcessPauseTest, PauseThreadsStopsThoseThreadsAndNoOther) {
  Child child(2, 2, false);
  const std::vector<pid_t> tids = Threads(child.pid());
  ASSERT_EQ(tids.size(), 5u);
  const std::vector<pid_t> chosen = {tids[1], tids[3]};
  {
    absl::StatusOr<std::unique_ptr<ProcessPause>> pause =
        ProcessPause::PauseThreads(child.pid(), chosen);
    ASSERT_TRUE(pause.ok()) << pause.status();
    std::vector<pid_t> stopped = (*pause)->stopped_threads();
    std::sort(stopped.begin(), stopped.end());
    EXPECT_EQ(stopped, chosen);
    for (pid_t tid : tids) {
      const bool is_chosen = std::find(chosen.begin(), chosen.end(), tid) != chosen.end();
      EXPECT_EQ(State(child.pid(), tid) == 't', is_chosen) << tid;
      EXPECT_EQ(TracerOf(child.pid(), tid) != 0, is_chosen) << tid;
    }
  }
  ExpectLetGo(child.pid());
  // Threads gone meanwhile (or never there) are skipped: nothing stopped is no error.
  absl::StatusOr<std::unique_ptr<ProcessPause>> none =
      ProcessPause::PauseThreads(child.pid(), {999999});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE((*none)->stopped_threads().empty());
}

TEST(ProcessPauseTest, SignalsArrivingAroundThePauseAreDelivered) {
  Child child(1, 1, false);
  for (int i = 0; i < 10; ++i) {
    if (i % 2 == 0) ::kill(child.pid(), SIGUSR1);  // just before: may stop a thread for delivery
    {
      absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(child.pid());
      ASSERT_TRUE(pause.ok()) << pause.status();
      if (i % 2 == 1) ::kill(child.pid(), SIGUSR1);  // while every thread is stopped
      ::usleep(2000);
    }
    EXPECT_TRUE(child.HandledSignal(5000)) << "signal " << i << " was lost";
  }
  ExpectLetGo(child.pid());
}

TEST(ProcessPauseTest, ThreadsStartedWhilePausingAreStoppedToo) {
  Child child(1, 0, true);
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(child.pid());
    ASSERT_TRUE(pause.ok()) << pause.status();
    for (pid_t tid : Threads(child.pid())) {
      const char state = State(child.pid(), tid);
      // Stopped, or gone (a thread ending as the pause began); never running.
      EXPECT_TRUE(state == 't' || state == 'Z' || state == 'X') << tid << " is '" << state << "'";
    }
  }
  ExpectLetGo(child.pid());
}

TEST(ProcessPauseTest, TakesOverAThreadAnEarlierPauseCouldNotLetGo) {
  Child child(1, 1, false);
  const std::vector<pid_t> tids = Threads(child.pid());
  ASSERT_EQ(tids.size(), 3u);
  const pid_t stuck = tids.back();
  // Seized and interrupted but never waited for, as a pause that gave up on it leaves it.
  ASSERT_EQ(::ptrace(PTRACE_SEIZE, stuck, nullptr, nullptr), 0);
  ASSERT_EQ(::ptrace(PTRACE_INTERRUPT, stuck, nullptr, nullptr), 0);
  {
    absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(child.pid());
    ASSERT_TRUE(pause.ok()) << pause.status();
    std::vector<pid_t> stopped = (*pause)->stopped_threads();
    std::sort(stopped.begin(), stopped.end());
    EXPECT_EQ(stopped, tids);
  }
  ExpectLetGo(child.pid());
  ::ptrace(PTRACE_DETACH, stuck, nullptr, nullptr);  // if the pause failed to take it over
}

std::atomic<int> sigchld_seen{0};
void OnSigchld(int) { sigchld_seen.fetch_add(1); }

TEST(ProcessPauseTest, LeavesSigchldAsItWas) {
  struct sigaction action = {}, previous = {};
  action.sa_handler = OnSigchld;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(::sigaction(SIGCHLD, &action, &previous), 0);
  {
    Child child(2, 2, false);
    const int before = sigchld_seen.load();
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(child.pid());
      ASSERT_TRUE(pause.ok()) << pause.status();
    }
    sigset_t mask;
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
    EXPECT_FALSE(sigismember(&mask, SIGCHLD));
    // Stops are reported with SIGCHLD: whether the pause took them or not, the handler ran.
    EXPECT_GT(sigchld_seen.load(), before);
  }
  ::sigaction(SIGCHLD, &previous, nullptr);
}

TEST(ProcessPauseTest, NoSuchProcessIsNotFound) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(absl::IsNotFound(ProcessPause::Pause(child).status()));
}

}  // namespace
}  // namespace gilscope
