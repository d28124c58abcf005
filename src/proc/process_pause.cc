#include "gilscope/proc/process_pause.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/proc/proc_parsers.h"
#include "gilscope/proc/task_reader.h"

namespace gilscope {
namespace {

constexpr int kMaxSeizeRounds = 8;  // threads may spawn while we seize; rescan until stable

bool HasEffectiveCapSysPtrace() {
  absl::StatusOr<std::string> status = ReadProcFile("/proc/self/status");
  if (!status.ok()) return false;
  size_t at = status->find("CapEff:");
  if (at == std::string::npos) return false;
  uint64_t caps = 0;
  absl::string_view value(status->data() + at + 7, 17);
  if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(value), &caps)) return false;
  return (caps >> 19) & 1;  // CAP_SYS_PTRACE = 19
}

// An exiting thread refuses PTRACE_SEIZE with EPERM; that is not a permission problem.
bool ThreadIsExiting(pid_t pid, pid_t tid) {
  absl::StatusOr<std::string> text =
      ReadProcFile(absl::StrFormat("/proc/%d/task/%d/stat", pid, tid));
  if (!text.ok()) return true;
  absl::StatusOr<TaskStat> stat = ParseStat(*text);
  return !stat.ok() || stat->state == 'Z' || stat->state == 'X';
}

}  // namespace

std::string DiagnosePtraceDenied(pid_t pid) {
  absl::StatusOr<std::string> status = ReadProcFile(absl::StrFormat("/proc/%d/status", pid));
  if (status.ok()) {
    std::optional<int> tracer = ParseTracerPid(*status);
    if (tracer && *tracer != 0 && *tracer != ::getpid()) {
      absl::StatusOr<std::string> comm = ReadProcFile(absl::StrFormat("/proc/%d/comm", *tracer));
      return absl::StrFormat(
          "process %d is already traced by process %d (%s); only one tracer may attach", pid,
          *tracer, comm.ok() ? std::string(absl::StripAsciiWhitespace(*comm)) : "unknown");
    }
  }
  std::string reason = absl::StrFormat("no permission to ptrace process %d", pid);
  absl::StatusOr<std::string> scope = ReadProcFile("/proc/sys/kernel/yama/ptrace_scope");
  if (scope.ok() && absl::StripAsciiWhitespace(*scope) != "0") {
    absl::StrAppend(&reason, "; kernel.yama.ptrace_scope is ", absl::StripAsciiWhitespace(*scope),
                    " (run as root, or set it to 0)");
  }
  if (!HasEffectiveCapSysPtrace()) {
    absl::StrAppend(&reason,
                    "; gilscope lacks CAP_SYS_PTRACE (run as root or as the target's user,"
                    " or grant the capability; in a container add --cap-add SYS_PTRACE)");
  }
  return reason;
}

absl::StatusOr<std::unique_ptr<ProcessPause>> ProcessPause::Pause(pid_t pid,
                                                                  absl::Duration timeout) {
  std::unique_ptr<ProcessPause> pause(new ProcessPause(pid));
  RETURN_IF_ERROR(pause->StopAll(timeout));
  if (pause->stopped_threads().empty()) {
    return absl::NotFoundError(absl::StrFormat("process %d has exited", pid));
  }
  return pause;
}

absl::StatusOr<std::unique_ptr<ProcessPause>> ProcessPause::PauseThreads(
    pid_t pid, const std::vector<pid_t>& tids, absl::Duration timeout) {
  std::unique_ptr<ProcessPause> pause(new ProcessPause(pid));
  bool seized_any = false;
  RETURN_IF_ERROR(pause->SeizeNew(tids, &seized_any));
  if (seized_any) RETURN_IF_ERROR(pause->WaitForStops(absl::Now() + timeout, timeout));
  return pause;
}

// Lists the threads, seizes and interrupts the new ones and waits until they stop, and again,
// until a listing shows no new thread. That listing is taken while every thread seized so far
// is stopped; a stopped thread starts no thread, and one started before its creator stopped is
// listed by then (copy_process links it into the thread group before clone returns): so once a
// round finds no new thread, no thread of the process runs.
absl::Status ProcessPause::StopAll(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ProcTaskReader tasks(pid_);  // one open /proc/PID/task for every round
  for (int round = 0; round < kMaxSeizeRounds; ++round) {
    absl::StatusOr<std::vector<pid_t>> tids = tasks.ListThreads();
    if (!tids.ok()) {
      if (absl::IsNotFound(tids.status())) {
        return absl::NotFoundError(absl::StrFormat("process %d has exited", pid_));
      }
      return tids.status();
    }
    bool seized_any = false;
    RETURN_IF_ERROR(SeizeNew(*tids, &seized_any));
    if (!seized_any) return absl::OkStatus();
    RETURN_IF_ERROR(WaitForStops(deadline, timeout));
  }
  return absl::OkStatus();  // still spawning: the snapshot covers what we caught
}

absl::Status ProcessPause::SeizeNew(const std::vector<pid_t>& tids, bool* seized_any) {
  for (pid_t tid : tids) {
    if (Find(tid) != nullptr) continue;
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
      const int error = errno;  // ThreadIsExiting reads /proc and may change errno
      if (error == ESRCH || ThreadIsExiting(pid_, tid)) continue;  // exiting: EPERM or ESRCH
      if (error == EPERM && AdoptOwnTracee(tid)) {
        *seized_any = true;
        continue;
      }
      if (error == EPERM) return absl::PermissionDeniedError(DiagnosePtraceDenied(pid_));
      return absl::UnavailableError(
          absl::StrFormat("cannot ptrace thread %d: %s", tid, std::strerror(error)));
    }
    tracees_.push_back({tid, false, 0});
    *seized_any = true;
    if (stop_requested_at_ == absl::InfiniteFuture()) stop_requested_at_ = absl::Now();
    if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno != ESRCH) {
      return absl::UnavailableError(
          absl::StrFormat("cannot interrupt thread %d: %s", tid, std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

bool ProcessPause::AdoptOwnTracee(pid_t tid) {
  absl::StatusOr<std::string> status =
      ReadProcFile(absl::StrFormat("/proc/%d/task/%d/status", pid_, tid));
  if (!status.ok()) return false;
  const std::optional<int> tracer = ParseTracerPid(*status);
  if (!tracer || (*tracer != ::getpid() && *tracer != ::gettid())) return false;
  tracees_.push_back({tid, false, 0});
  if (!Collect(tracees_.back())) {
    // Still running (its PTRACE_INTERRUPT is still pending, but ask again): wait for it.
    ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
  } else if (tracees_.back().tid == 0) {
    tracees_.pop_back();  // it had exited
  }
  return true;
}

ProcessPause::Tracee* ProcessPause::Find(pid_t tid) {
  for (Tracee& tracee : tracees_) {
    if (tracee.tid == tid) return &tracee;
  }
  return nullptr;
}

bool ProcessPause::Collect(Tracee& tracee) {
  int status = 0;
  const pid_t got = ::waitpid(tracee.tid, &status, __WALL | WNOHANG);
  if (got == 0) return false;
  if (got < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
    tracee.tid = 0;  // gone
    return true;
  }
  if (WIFSTOPPED(status)) {
    tracee.stopped = true;
    const bool event_stop = (status >> 16) == PTRACE_EVENT_STOP;
    // A signal-delivery stop means a signal reached the thread while seized: hand it back.
    if (!event_stop && WSTOPSIG(status) != SIGTRAP) tracee.signal_to_deliver = WSTOPSIG(status);
  }
  return true;
}

// While it lives, SIGCHLD is blocked in this thread, so that Sleep() can wait for one: the
// kernel sends the tracer SIGCHLD whenever a tracee stops (kernel/signal.c,
// do_notify_parent_cldstop), which wakes it the moment a thread stops instead of at the next
// poll. If it took a SIGCHLD, one is sent to the process again on the way out: the signal may
// have stood for a child's exit too (standard signals merge), and a handler or a signalfd
// elsewhere in gilscope must still get it. (Tracee stops send SIGCHLD anyway: one more is
// nothing new to them.)
class ProcessPause::StopWaiter {
 public:
  StopWaiter() = default;
  ~StopWaiter() {
    if (!blocked_) return;
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    if (taken_) ::kill(::getpid(), SIGCHLD);
  }
  StopWaiter(const StopWaiter&) = delete;
  StopWaiter& operator=(const StopWaiter&) = delete;

  // Blocks SIGCHLD (once). Any stop after this leaves a SIGCHLD pending for Sleep(); the caller
  // polls once more after this, for stops before.
  void Arm() {
    if (armed_) return;
    armed_ = true;
    sigemptyset(&chld_);
    sigaddset(&chld_, SIGCHLD);
    blocked_ = ::pthread_sigmask(SIG_BLOCK, &chld_, &previous_) == 0;
  }

  // Waits until a tracee may have stopped, or `limit` passed.
  void Sleep(absl::Duration limit) {
    if (!blocked_ || !signals_work_) {
      ::usleep(20);
      return;
    }
    const timespec wait = absl::ToTimespec(std::min(limit, kSignalWait));
    siginfo_t info;
    if (::sigtimedwait(&chld_, &info, &wait) == SIGCHLD) {
      taken_ = true;
    } else if (errno == EAGAIN) {
      timed_out_ = true;
    }
  }

  // The caller polled after a Sleep() that timed out and found a stop it was not woken for:
  // SIGCHLD is ignored, has SA_NOCLDSTOP or goes to another thread. Poll from now on.
  void MissedStop() {
    if (timed_out_) signals_work_ = false;
  }
  void ResetTimeout() { timed_out_ = false; }
  bool armed() const { return armed_; }

 private:
  // Longest single wait for SIGCHLD: also how late a stop is seen when SIGCHLD never comes.
  static constexpr absl::Duration kSignalWait = absl::Microseconds(200);

  sigset_t chld_;
  sigset_t previous_;
  bool armed_ = false;
  bool blocked_ = false;
  bool taken_ = false;
  bool timed_out_ = false;
  bool signals_work_ = true;
};

absl::Status ProcessPause::WaitForStops(absl::Time deadline, absl::Duration timeout) {
  auto pending = [&] {
    return std::any_of(tracees_.begin(), tracees_.end(),
                       [](const Tracee& t) { return t.tid != 0 && !t.stopped; });
  };
  StopWaiter waiter;
  // First each thread is asked once: by then most have stopped, and taking a stop costs one
  // call. After that, one waitid(P_ALL, WNOWAIT) names a tracee with news without taking it:
  // one call however many threads are still running, where asking each costs one call per
  // thread. A child of gilscope's own with news would be named first every time: then ask each.
  bool first_pass = true;
  bool peek = true;
  while (pending()) {
    bool progressed = false;
    if (first_pass) {
      first_pass = false;
      for (Tracee& tracee : tracees_) {
        if (tracee.tid != 0 && !tracee.stopped && Collect(tracee)) progressed = true;
      }
    } else if (peek) {
      siginfo_t info;
      info.si_pid = 0;
      if (::waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | __WALL | WNOHANG | WNOWAIT) != 0) {
        peek = false;
      } else if (info.si_pid != 0) {
        Tracee* tracee = Find(info.si_pid);
        progressed = tracee != nullptr && Collect(*tracee);
        if (!progressed) peek = false;  // not ours (or not takeable): never spin on it
      }
    }
    if (!peek) {
      for (Tracee& tracee : tracees_) {
        if (tracee.tid != 0 && !tracee.stopped && Collect(tracee)) progressed = true;
      }
    }
    if (progressed) {
      waiter.MissedStop();
      continue;
    }
    if (!pending()) break;
    const absl::Time now = absl::Now();
    if (now > deadline) {
      return absl::DeadlineExceededError(
          absl::StrFormat("threads of process %d did not stop within %s (uninterruptible sleep?)",
                          pid_, absl::FormatDuration(timeout)));
    }
    if (!waiter.armed()) {
      waiter.Arm();
      continue;  // poll once more: a thread may have stopped before SIGCHLD was blocked
    }
    waiter.ResetTimeout();
    waiter.Sleep(deadline - now);
  }
  tracees_.erase(
      std::remove_if(tracees_.begin(), tracees_.end(), [](const Tracee& t) { return t.tid == 0; }),
      tracees_.end());
  return absl::OkStatus();
}

std::vector<pid_t> ProcessPause::stopped_threads() const {
  std::vector<pid_t> tids;
  for (const Tracee& tracee : tracees_) {
    if (tracee.stopped) tids.push_back(tracee.tid);
  }
  return tids;
}

void ProcessPause::Resume() {
  for (Tracee& tracee : tracees_) {
    if (tracee.tid == 0) continue;
    if (!tracee.stopped) {
      // PTRACE_DETACH needs a stopped tracee; give a slow thread a little longer to stop.
      // If it never does, gilscope's exit detaches it (the kernel resumes it then).
      for (int i = 0; i < 20000 && !tracee.stopped; ++i) {
        int status = 0;
        pid_t got = ::waitpid(tracee.tid, &status, __WALL | WNOHANG);
        if (got < 0 || (got > 0 && !WIFSTOPPED(status))) break;
        if (got > 0)
          tracee.stopped = true;
        else
          ::usleep(100);
      }
    }
    ::ptrace(PTRACE_DETACH, tracee.tid, nullptr,
             reinterpret_cast<void*>(static_cast<intptr_t>(tracee.signal_to_deliver)));
  }
  tracees_.clear();
}

ProcessPause::~ProcessPause() { Resume(); }

}  // namespace gilscope
