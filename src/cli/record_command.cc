// gilscope record (--pid PID | -- COMMAND...): samples on a schedule into a Profile, then
// writes the chosen output and the summary. Outputs are opened before sampling starts, so an
// unwritable path is an error up front, and written once at the end, whatever ended it.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/live_status.h"
#include "cli/record_options.h"
#include "cli/record_outputs.h"
#include "cli/record_tree.h"
#include "cli/stop_signals.h"
#include "cli/target_session.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {
namespace {

TargetSessionOptions SessionOptions(const RecordOptions& options) {
  return {.pid = options.pid,
          .command = options.command,
          .native = options.native,
          .keep_plumbing = options.keep_plumbing,
          .nonblocking = options.nonblocking,
          .rate_hz = options.rate_hz};
}

// One recording, in its steps: open the outputs, find (or launch) the target, sample it, then
// report and write. Members are what the steps hand on to each other.
class Recording {
 public:
  explicit Recording(const RecordOptions& options)
      : options_(options), session_(SessionOptions(options)), profile_(options.idle) {}

  int Run() {
    if (absl::Status opened = outputs_.Open(options_); !opened.ok()) {
      PrintError(std::string(opened.message()));
      return kExitFailure;
    }
    InstallStopHandlers();
    if (absl::Status started = session_.Start(); !started.ok()) {
      PrintError(std::string(started.message()));
      return kExitFailure;
    }
    const SamplingStats stats = Sample();
    const int exit_code = Report(stats);
    session_.Finish(stopped_by_signal_);
    return exit_code;
  }

 private:
  // Counts the GIL's hand-offs over options_.baseline before the first sample, reading only
  // memory: the target runs as if unobserved. Not in launch mode, where the program is only
  // starting. Cut short by a stop signal; any failure just leaves the figure out.
  void MeasureUnobservedHandOffs() {
    if (session_.child() != nullptr || options_.baseline <= absl::ZeroDuration()) return;
    absl::StatusOr<std::optional<uint64_t>> before = session_.taker().CountHandOffs();
    if (!before.ok() || !*before) return;
    const absl::Time start = absl::Now();
    const absl::Time end = start + options_.baseline;
    while (absl::Now() < end && StopSignal() == 0) {
      absl::SleepFor(std::min(absl::Milliseconds(20), end - absl::Now()));
    }
    absl::StatusOr<std::optional<uint64_t>> after = session_.taker().CountHandOffs();
    const absl::Duration window = absl::Now() - start;
    if (!after.ok() || !*after || **after < **before || StopSignal() != 0) return;
    unobserved_window_ = window;
    unobserved_switches_per_s_ =
        static_cast<double>(**after - **before) / absl::ToDoubleSeconds(window);
  }

  SamplingStats Sample() {
    MeasureUnobservedHandOffs();
    // The kernel may let a sleep overrun by the thread's timer slack, 50 µs by default: half
    // a period at 10 kHz. Sampling on time matters more than batching this thread's wake-ups.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    LiveStatus live(isatty(STDERR_FILENO) == 1);
    SamplingHooks hooks = session_.Hooks();
    hooks.on_sample = [&](const Snapshot& snapshot, absl::Time at) {
      if (!first_sample_wall_) first_sample_wall_ = absl::Now();
      profile_.AddSample(snapshot, at);
    };
    hooks.on_failed_sample = [&]() { profile_.AddError(); };
    hooks.should_stop = [&]() { return StopSignal() != 0 || session_.ChildExited(); };
    hooks.on_progress = [&](const SamplingStats& stats) {
      live.Update(stats, profile_.Figures());
      session_.RefreshFreeThreadedGil();
    };
    MonotonicClock clock;
    const SamplingStats stats = RunSamplingLoop(
        SamplingSchedule{static_cast<double>(options_.rate_hz), options_.duration}, hooks, clock);
    live.Clear();
    stopped_by_signal_ = stats.end == SamplingEnd::kStopped && StopSignal() != 0;
    return stats;
  }

  RecordingInfo Describe(const SamplingStats& stats) {
    // Sampling stopped without a signal: the launched program ended.
    SamplingEnd end = stats.end;
    if (end == SamplingEnd::kStopped && !stopped_by_signal_) end = SamplingEnd::kTargetExited;

    RecordingInfo info;
    info.pid = session_.pid();
    info.command_line = session_.target().command_line;
    info.python_version = session_.target().version.text;
    info.free_threaded = session_.target().free_threaded;
    session_.RefreshFreeThreadedGil(/*now=*/true);
    info.free_threaded_gil = session_.free_threaded_gil();
    info.mode = options_.mode;
    info.rate_hz = options_.rate_hz;
    info.paused = !options_.nonblocking;
    info.native = options_.native;
    info.idle_kept = options_.idle;
    info.by_interpreter = options_.by_interpreter;
    info.by_thread = options_.by_thread;
    info.late_samples = stats.late;
    info.missed_samples = stats.missed;
    info.scheduled_samples = stats.taken + stats.failed + stats.missed;
    info.elapsed = stats.elapsed;
    info.paused_total = session_.paused_total();
    info.started_at = first_sample_wall_;
    info.cpu_budget = session_.cpu_budget();
    for (ObjectIdentity& object : session_.taker().NativeObjectsRead()) {
      info.native_objects.push_back({std::move(object.path), std::move(object.build_id)});
    }
    info.unobserved_switches_per_s = unobserved_switches_per_s_;
    info.unobserved_window = unobserved_window_;
    info.end_reason = SamplingEndName(end);
    if (session_.ChildExited())
      info.end_reason += absl::StrCat(" (", session_.child()->ExitDescription(), ")");
    if (end == SamplingEnd::kTargetReplaced) {
      const std::string now = session_.exec_watch()->CurrentExecutable();
      if (!now.empty()) info.end_reason += absl::StrCat(" (now ", now, ")");
    }
    return info;
  }

  // Prints the summary and writes the outputs; returns the exit code.
  int Report(const SamplingStats& stats) {
    const RecordingInfo info = Describe(stats);
    if (stats.taken == 0) {
      PrintError(stats.end == SamplingEnd::kFailed
                     ? absl::StrCat("no samples recorded: ", stats.failure.message())
                     : absl::StrCat("no samples recorded (", info.end_reason, ")"));
      return kExitFailure;
    }
    WriteSummaryText(profile_, info, std::cerr);
    int exit_code = kExitOk;
    if (stats.end == SamplingEnd::kFailed) {
      PrintError(absl::StrCat("sampling stopped early: ", stats.failure.message()));
      exit_code = kExitFailure;
    }
    const bool written =
        outputs_.Commit(options_, RenderProfile(options_.format, profile_, info),
                        [&](std::ostream& json) { WriteSummaryJson(profile_, info, json); });
    if (!written) exit_code = kExitFailure;
    return exit_code;
  }

  const RecordOptions& options_;
  RecordOutputs outputs_;
  TargetSession session_;
  Profile profile_;
  std::optional<absl::Time> first_sample_wall_;
  std::optional<double> unobserved_switches_per_s_;
  absl::Duration unobserved_window_;
  bool stopped_by_signal_ = false;
};

}  // namespace

int RunRecordCommand(const std::vector<std::string>& args) {
  return RunParsed(ParseRecordOptions(args), [](const RecordOptions& options) {
    if (options.subprocesses) return RunTreeRecording(options);
    Recording recording(options);
    return recording.Run();
  });
}

}  // namespace gilscope
