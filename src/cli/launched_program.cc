#include "cli/launched_program.h"

#include <signal.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/stop_signals.h"
#include "gilscope/sampler/failure_policy.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {
namespace {

// A launched program gets this long to load libpython and start its interpreter, and this
// long to become Python at all (a wrapper script may exec the real interpreter).
constexpr absl::Duration kPythonStartTimeout = absl::Seconds(10);
constexpr absl::Duration kBecomePythonTimeout = absl::Seconds(2);
constexpr absl::Duration kPythonStartPoll = absl::Milliseconds(5);
// After a stop by signal, a launched program gets this long to end on its own before the
// signal is passed on to it.
constexpr absl::Duration kChildGrace = absl::Seconds(1);

}  // namespace

absl::StatusOr<PythonTarget> WaitForPython(ChildProcess& child, ProcessMemory& memory) {
  MonotonicClock clock;
  const absl::Time started = clock.Now();
  const absl::Time deadline = started + kPythonStartTimeout;
  absl::Status last = absl::OkStatus();
  while (true) {
    if (StopSignal() != 0) return absl::CancelledError("interrupted before Python started");
    if (child.HasExited()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the program ", child.ExitDescription(), " before its Python interpreter could be read",
          last.ok() ? "" : absl::StrCat(" (", last.message(), ")")));
    }
    absl::StatusOr<PythonTarget> target = LocatePython(child.pid(), memory);
    if (target.ok()) return target;
    last = target.status();
    // An exit (a zombie not yet reaped) is reported by HasExited() on the next turn.
    const FailureMeaning meaning = Classify(last);
    if (meaning == FailureMeaning::kFatal) return last;
    if (clock.Now() >= deadline) return last;
    if (meaning == FailureMeaning::kNotPython && clock.Now() >= started + kBecomePythonTimeout) {
      return last;
    }
    clock.SleepUntil(clock.Now() + kPythonStartPoll);
  }
}

void KillLaunched(ChildProcess& child) {
  child.Signal(SIGKILL);
  while (!child.Wait()) {
  }
}

void StopLaunched(ChildProcess& child) {
  if (child.HasExited()) return;
  child.Signal(SIGTERM);
  MonotonicClock clock;
  const absl::Time deadline = clock.Now() + kChildGrace;
  while (!child.HasExited() && clock.Now() < deadline)
    clock.SleepUntil(clock.Now() + absl::Milliseconds(10));
  if (!child.HasExited()) KillLaunched(child);
}

void FinishChild(ChildProcess& child, bool recording_stopped_by_signal) {
  if (child.HasExited()) return;
  if (recording_stopped_by_signal) {
    MonotonicClock clock;
    const absl::Time deadline = clock.Now() + kChildGrace;
    while (!child.HasExited() && clock.Now() < deadline)
      clock.SleepUntil(clock.Now() + absl::Milliseconds(10));
    if (child.HasExited()) return;
    if (!StopSignalFromTerminal()) child.Signal(StopSignal());
  } else {
    std::cerr << "gilscope: recording done; waiting for the program (pid " << child.pid()
              << ") to finish; Ctrl-C stops it\n";
  }
  ClearStopSignal();
  while (!child.Wait()) {  // returns early on a signal: pass it on unless the tty sent it too
    if (StopSignal() != 0 && !StopSignalFromTerminal()) child.Signal(StopSignal());
    ClearStopSignal();
  }
}

}  // namespace gilscope
