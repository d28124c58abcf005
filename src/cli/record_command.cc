// gilscope record (--pid PID | -- COMMAND...): samples on a schedule into a Profile, then
// writes the chosen output and the summary. Outputs are opened before sampling starts, so an
// unwritable path is an error up front, and written once at the end, whatever ended it.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/cli/commands.h"
#include "gilscope/cli/live_status.h"
#include "gilscope/cli/output_file.h"
#include "gilscope/cli/record_options.h"
#include "gilscope/cli/stop_signals.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/child_process.h"
#include "gilscope/proc/exec_watch.h"
#include "gilscope/proc/pauser.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/sampler/paused_snapshot.h"
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

// Polls until the launched program's interpreter can be read. Errors that retrying cannot fix
// (an unsupported version, no permission) end the wait at once; "not Python" is believed only
// once the program has had time to load its libraries (or exec a real interpreter from a wrapper).
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
    if (absl::IsUnimplemented(last) || absl::IsPermissionDenied(last)) return last;
    if (clock.Now() >= deadline) return last;
    if (absl::IsInvalidArgument(last) && clock.Now() >= started + kBecomePythonTimeout) return last;
    clock.SleepUntil(clock.Now() + kPythonStartPoll);
  }
}

std::string Render(OutputFormat format, const Profile& profile, const RecordingInfo& info) {
  std::ostringstream out;
  switch (format) {
    case OutputFormat::kFlameGraph:
      WriteFlameGraphSvg(profile, info, out);
      break;
    case OutputFormat::kCollapsed:
      WriteCollapsed(profile, info, out);
      break;
    case OutputFormat::kSpeedscope:
      WriteSpeedscope(profile, info, out);
      break;
  }
  return out.str();
}

// Ends a launched program's life with gilscope's: waits for it, passing on a stop signal
// that the terminal did not already deliver to it.
// A launched program that cannot be recorded was started only to be profiled: it goes.
void KillLaunched(ChildProcess& child) {
  child.Signal(SIGKILL);
  while (!child.Wait()) {
  }
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

}  // namespace

int RunRecordCommand(const std::vector<std::string>& args) {
  auto parsed = ParseRecordOptions(args);
  if (auto* help = std::get_if<ShowHelp>(&parsed)) {
    std::cout << help->text;
    return kExitOk;
  }
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    PrintError(error->message);
    return kExitUsage;
  }
  const RecordOptions& options = std::get<RecordOptions>(parsed);

  absl::StatusOr<OutputFile> output = OutputFile::Create(options.output);
  if (!output.ok()) {
    PrintError(std::string(output.status().message()));
    return kExitFailure;
  }
  std::optional<OutputFile> summary_file;
  if (!options.summary_path.empty()) {
    absl::StatusOr<OutputFile> file = OutputFile::Create(options.summary_path);
    if (!file.ok()) {
      PrintError(std::string(file.status().message()));
      return kExitFailure;
    }
    summary_file.emplace(*std::move(file));
  }
  InstallStopHandlers();

  std::optional<ChildProcess> child;
  pid_t pid = options.pid;
  if (!options.command.empty()) {
    absl::StatusOr<ChildProcess> started = ChildProcess::Start(options.command);
    if (!started.ok()) {
      PrintError(std::string(started.status().message()));
      return kExitFailure;
    }
    child.emplace(*std::move(started));
    pid = child->pid();
  }

  ProcessMemory memory(pid);
  absl::StatusOr<PythonTarget> target =
      child ? WaitForPython(*child, memory) : LocatePython(pid, memory);
  if (!target.ok()) {
    PrintError(std::string(target.status().message()));
    if (child) KillLaunched(*child);
    return kExitFailure;
  }
  if (!target->warning.empty()) PrintError(target->warning);

  ProcTaskReader tasks(pid);
  SnapshotTaker taker(*target, memory, tasks);
  if (options.native) {
    // The holder and threads on a CPU: what every view's interesting frames need. Blocked
    // threads keep their Python stacks (their native frames are the wait itself).
    absl::Status enabled = taker.EnableNativeStacks(NativeStacks::kOnCpu, options.keep_plumbing);
    if (!enabled.ok()) {
      PrintError(absl::StrCat("cannot read native stacks: ", enabled.message()));
      if (child) KillLaunched(*child);
      return kExitFailure;
    }
  }
  Profile profile(options.idle);
  LiveStatus live(isatty(STDERR_FILENO) == 1);
  absl::Duration paused_total;

  const ExecWatch exec_watch(pid);
  PtracePauser pauser(pid);
  SamplingHooks hooks;
  hooks.take = [&]() -> absl::StatusOr<Snapshot> {
    SnapshotCost cost;
    absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser, !options.nonblocking, &cost);
    paused_total += cost.paused;
    // A launched program that ended is a zombie until reaped: that is an exit, not an error.
    if (!snapshot.ok() && child && child->HasExited()) return absl::NotFoundError("exited");
    // Nor is a program that exec'd into another: the Python target is gone, the pid stays.
    if (!snapshot.ok() && !absl::IsNotFound(snapshot.status()) && exec_watch.Replaced()) {
      return absl::AbortedError("exec'd");
    }
    return snapshot;
  };
  hooks.on_sample = [&](const Snapshot& snapshot, absl::Time at) {
    profile.AddSample(snapshot, at);
  };
  hooks.on_failed_sample = [&]() { profile.AddError(); };
  hooks.should_stop = [&]() { return StopSignal() != 0 || (child && child->HasExited()); };
  hooks.on_progress = [&](const SamplingStats& stats) { live.Update(stats, profile.Figures()); };
  MonotonicClock clock;
  const SamplingStats stats = RunSamplingLoop(
      SamplingSchedule{static_cast<double>(options.rate_hz), options.duration}, hooks, clock);
  live.Clear();

  const bool stopped_by_signal = stats.end == SamplingEnd::kStopped && StopSignal() != 0;
  SamplingEnd end = stats.end;
  if (end == SamplingEnd::kStopped && !stopped_by_signal) end = SamplingEnd::kTargetExited;

  RecordingInfo info;
  info.pid = pid;
  info.command_line = target->command_line;
  info.python_version = target->version.text;
  info.mode = options.mode;
  info.rate_hz = options.rate_hz;
  info.paused = !options.nonblocking;
  info.native = options.native;
  info.idle_kept = options.idle;
  info.by_interpreter = options.by_interpreter;
  info.late_samples = stats.late;
  info.missed_samples = stats.missed;
  info.end_reason = SamplingEndName(end);
  if (child && child->HasExited())
    info.end_reason += absl::StrCat(" (", child->ExitDescription(), ")");
  if (end == SamplingEnd::kTargetReplaced) {
    const std::string now = exec_watch.CurrentExecutable();
    if (!now.empty()) info.end_reason += absl::StrCat(" (now ", now, ")");
  }

  int exit_code = kExitOk;
  if (stats.taken == 0) {
    PrintError(stats.end == SamplingEnd::kFailed
                   ? absl::StrCat("no samples recorded: ", stats.failure.message())
                   : absl::StrCat("no samples recorded (", info.end_reason, ")"));
    if (child) FinishChild(*child, stopped_by_signal);
    return kExitFailure;
  }
  WriteSummaryText(profile, info, std::cerr);
  const bool gil_view = options.mode == ProfileMode::kGil || options.mode == ProfileMode::kWait ||
                        options.mode == ProfileMode::kBlame;
  if (gil_view && profile.Figures().gil_never_enabled) {
    // One line, not an error: the output is still written, with a title that says why.
    PrintError(
        absl::StrFormat("the GIL was off throughout (free-threaded build running without "
                        "it): the %s view is empty; record with --mode cpu or --mode wall",
                        ProfileModeName(options.mode)));
  }
  if (!options.nonblocking) {
    std::cerr << absl::StrFormat("Target paused %.2f%% of the time (%.0f us per sample)\n",
                                 100 * absl::ToDoubleSeconds(paused_total) /
                                     std::max(1e-9, absl::ToDoubleSeconds(stats.elapsed)),
                                 absl::ToDoubleMicroseconds(paused_total) / stats.taken);
  }
  if (stats.missed > 0) {
    std::cerr << absl::StrFormat(
        "gilscope: sampling fell behind: %d of %d scheduled samples were skipped; a sample of this "
        "target costs more than 1/%d s (try a lower --rate or --nonblocking)\n",
        stats.missed, stats.taken + stats.failed + stats.missed, options.rate_hz);
  }
  if (stats.end == SamplingEnd::kFailed) {
    PrintError(absl::StrCat("sampling stopped early: ", stats.failure.message()));
    exit_code = kExitFailure;
  }

  const absl::Status written = output->Commit(Render(options.format, profile, info));
  if (!written.ok()) {
    PrintError(std::string(written.message()));
    exit_code = kExitFailure;
  } else if (options.output != "-") {
    std::cerr << "gilscope: wrote " << TerminalSafe(options.output) << "\n";
  }
  if (summary_file) {
    std::ostringstream json;
    WriteSummaryJson(profile, info, json);
    const absl::Status summary_written = summary_file->Commit(json.str());
    if (!summary_written.ok()) {
      PrintError(std::string(summary_written.message()));
      exit_code = kExitFailure;
    }
  }
  if (child) FinishChild(*child, stopped_by_signal);
  return exit_code;
}

}  // namespace gilscope
