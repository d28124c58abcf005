#include "gilscope/proc/process_pause.h"

#include <errno.h>
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
  absl::StatusOr<std::string> text = ReadProcFile(absl::StrFormat("/proc/%d/task/%d/stat", pid, tid));
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
      return absl::StrFormat("process %d is already traced by process %d (%s); only one tracer may attach",
                             pid, *tracer,
                             comm.ok() ? std::string(absl::StripAsciiWhitespace(*comm)) : "unknown");
    }
  }
  std::string reason = absl::StrFormat("no permission to ptrace process %d", pid);
  absl::StatusOr<std::string> scope = ReadProcFile("/proc/sys/kernel/yama/ptrace_scope");
  if (scope.ok() && absl::StripAsciiWhitespace(*scope) != "0") {
    absl::StrAppend(&reason, "; kernel.yama.ptrace_scope is ", absl::StripAsciiWhitespace(*scope),
                    " (run as root, or set it to 0)");
  }
  if (!HasEffectiveCapSysPtrace()) {
    absl::StrAppend(&reason, "; gilscope lacks CAP_SYS_PTRACE (run as root or as the target's user,"
                             " or grant the capability; in a container add --cap-add SYS_PTRACE)");
  }
  return reason;
}

absl::StatusOr<std::unique_ptr<ProcessPause>> ProcessPause::Pause(pid_t pid, absl::Duration timeout) {
  std::unique_ptr<ProcessPause> pause(new ProcessPause(pid));
  RETURN_IF_ERROR(pause->SeizeAll());
  RETURN_IF_ERROR(pause->WaitForStops(timeout));
  if (pause->stopped_threads().empty()) {
    return absl::NotFoundError(absl::StrFormat("process %d has exited", pid));
  }
  return pause;
}

absl::Status ProcessPause::SeizeAll() {
  ProcTaskReader tasks(pid_);
  for (int round = 0; round < kMaxSeizeRounds; ++round) {
    absl::StatusOr<std::vector<pid_t>> tids = tasks.ListThreads();
    if (!tids.ok()) {
      if (absl::IsNotFound(tids.status())) {
        return absl::NotFoundError(absl::StrFormat("process %d has exited", pid_));
      }
      return tids.status();
    }
    bool seized_any = false;
    for (pid_t tid : *tids) {
      bool known = std::any_of(tracees_.begin(), tracees_.end(),
                               [tid](const Tracee& t) { return t.tid == tid; });
      if (known) continue;
      if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
        const int error = errno;  // ThreadIsExiting reads /proc and may change errno
        if (error == ESRCH || ThreadIsExiting(pid_, tid)) continue;  // exiting: EPERM or ESRCH
        if (error == EPERM) return absl::PermissionDeniedError(DiagnosePtraceDenied(pid_));
        return absl::UnavailableError(
            absl::StrFormat("cannot ptrace thread %d: %s", tid, std::strerror(error)));
      }
      tracees_.push_back({tid, false, 0});
      seized_any = true;
      if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno != ESRCH) {
        return absl::UnavailableError(
            absl::StrFormat("cannot interrupt thread %d: %s", tid, std::strerror(errno)));
      }
    }
    if (!seized_any) return absl::OkStatus();
  }
  return absl::OkStatus();  // still spawning: the snapshot covers what we caught
}

absl::Status ProcessPause::WaitForStops(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool pending = false;
    for (Tracee& tracee : tracees_) {
      if (tracee.stopped || tracee.tid == 0) continue;
      int status = 0;
      pid_t got = ::waitpid(tracee.tid, &status, __WALL | WNOHANG);
      if (got == 0) {
        pending = true;
        continue;
      }
      if (got < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
        tracee.tid = 0;  // gone
        continue;
      }
      if (WIFSTOPPED(status)) {
        tracee.stopped = true;
        const bool event_stop = (status >> 16) == PTRACE_EVENT_STOP;
        // A signal-delivery stop means a signal reached the thread while seized: hand it back.
        if (!event_stop && WSTOPSIG(status) != SIGTRAP) tracee.signal_to_deliver = WSTOPSIG(status);
      }
    }
    if (!pending) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "threads of process %d did not stop within %s (uninterruptible sleep?)", pid_,
          absl::FormatDuration(timeout)));
    }
    ::usleep(20);
  }
  tracees_.erase(std::remove_if(tracees_.begin(), tracees_.end(),
                                [](const Tracee& t) { return t.tid == 0; }),
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
        if (got > 0) tracee.stopped = true;
        else ::usleep(100);
      }
    }
    ::ptrace(PTRACE_DETACH, tracee.tid, nullptr,
             reinterpret_cast<void*>(static_cast<intptr_t>(tracee.signal_to_deliver)));
  }
  tracees_.clear();
}

ProcessPause::~ProcessPause() { Resume(); }

}  // namespace gilscope
