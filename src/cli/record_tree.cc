// gilscope record --subprocesses (--pid PID | -- COMMAND...): the processes of the tree that
// run Python (cli/tree_sampler.h), each with its own Profile. Flame formats draw one combined
// Profile whose stacks sit under a "pid N: command" root frame; the summary comes from the
// per-process Profiles.
#include "cli/record_tree.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/live_status.h"
#include "cli/record_outputs.h"
#include "cli/stop_signals.h"
#include "cli/tree_sampler.h"
#include "gilscope/proc/process_tree.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/tree_summary.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {

namespace {

// Threads whose process pprof and Perfetto are told (RecordingInfo::thread_process); beyond,
// a thread is put under the root's pid.
constexpr size_t kMaxThreadsMapped = 1 << 16;

class TreeRecording {
 public:
  explicit TreeRecording(const RecordOptions& options)
      : options_(options),
        sampler_(SessionOptions(options), absl::Seconds(1) / options.rate_hz),
        combined_(options.idle) {}

  int Run() {
    if (absl::Status opened = outputs_.Open(options_); !opened.ok()) {
      PrintError(std::string(opened.message()));
      return kExitFailure;
    }
    InstallStopHandlers();
    if (absl::Status started = sampler_.Start(); !started.ok()) {
      PrintError(std::string(started.message()));
      return kExitFailure;
    }
    const SamplingStats stats = Sample();
    const int exit_code = Report(stats);
    if (sampler_.launched()) sampler_.processes().front()->session.Finish(stopped_by_signal_);
    return exit_code;
  }

 private:
  static TargetSessionOptions SessionOptions(const RecordOptions& options) {
    return {.pid = options.pid,
            .command = options.command,
            .native = options.native,
            .keep_plumbing = options.keep_plumbing,
            .nonblocking = options.nonblocking,
            .rate_hz = options.rate_hz};
  }

  Profile& ProfileOf(size_t index) {
    while (profiles_.size() <= index) profiles_.push_back(std::make_unique<Profile>(options_.idle));
    return *profiles_[index];
  }

  // A process's snapshot goes to its own Profile, then under its root frame to the combined one.
  void Add(size_t index, Snapshot& snapshot, absl::Time at) {
    const TracedProcess& process = *sampler_.processes()[index];
    ProfileOf(index).AddSample(snapshot, at);
    for (ThreadSnapshot& thread : snapshot.threads) {
      if (thread_process_.size() < kMaxThreadsMapped) {
        thread_process_.try_emplace(thread.native_id, process.found.pid);
      }
      thread.frames.push_back(Frame{.function = process.label, .line = -1});
    }
    combined_.AddSample(snapshot, at);
  }

  SamplingStats Sample() {
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    LiveStatus live(isatty(STDERR_FILENO) == 1);
    MonotonicClock clock;
    SamplingHooks hooks;
    hooks.take = [&]() -> absl::StatusOr<Snapshot> {
      absl::Status ticked = sampler_.Tick(
          clock, [&](size_t index, Snapshot& snapshot, absl::Time at) { Add(index, snapshot, at); },
          [&](size_t index) { ProfileOf(index).AddError(); });
      if (!ticked.ok()) return ticked;
      return Snapshot{};
    };
    hooks.on_sample = [](const Snapshot&, absl::Time) {};
    hooks.classify = [](const absl::Status&) { return FailureMeaning::kTargetExited; };
    hooks.should_stop = [&]() {
      if (StopSignal() != 0) return true;
      sampler_.CheckLaunchedRoot();
      return false;
    };
    hooks.on_progress = [&](const SamplingStats& stats) {
      live.Update(stats, combined_.Figures());
    };
    const SamplingStats stats = RunSamplingLoop(
        SamplingSchedule{static_cast<double>(options_.rate_hz), options_.duration}, hooks, clock);
    live.Clear();
    stopped_by_signal_ = stats.end == SamplingEnd::kStopped && StopSignal() != 0;
    return stats;
  }

  RecordingInfo Describe(TracedProcess& process, const SamplingStats& stats,
                         const std::string& overall_end) {
    RecordingInfo info;
    info.pid = process.found.pid;
    info.command_line = process.session.target().command_line;
    info.python_version = process.session.target().version.text;
    info.mode = options_.mode;
    info.rate_hz = options_.rate_hz;
    info.paused = !options_.nonblocking;
    info.native = options_.native;
    info.idle_kept = options_.idle;
    info.by_interpreter = options_.by_interpreter;
    info.by_thread = options_.by_thread;
    info.missed_samples = process.missed;
    info.scheduled_samples = process.ticks;
    info.elapsed = stats.elapsed;
    info.paused_total = process.session.paused_total();
    info.started_at = process.first_sample_wall;
    info.cpu_budget = process.session.cpu_budget();
    if (process.live) process.session.RefreshFreeThreadedGil(/*now=*/true);
    info.free_threaded_gil = process.session.free_threaded_gil();
    for (ObjectIdentity& object : process.session.taker().NativeObjectsRead()) {
      info.native_objects.push_back({std::move(object.path), std::move(object.build_id)});
    }
    info.end_reason = process.live ? overall_end : process.end_reason;
    return info;
  }

  int Report(const SamplingStats& stats) {
    SamplingEnd end = stats.end;
    if (end == SamplingEnd::kStopped && !stopped_by_signal_) end = SamplingEnd::kTargetExited;
    const std::string overall_end = SamplingEndName(end);
    std::vector<ProcessResult> results;
    RecordingInfo combined_info;
    for (size_t i = 0; i < sampler_.processes().size(); ++i) {
      TracedProcess& process = *sampler_.processes()[i];
      const Profile& profile = ProfileOf(i);
      if (profile.Figures().samples == 0) continue;
      RecordingInfo info = Describe(process, stats, overall_end);
      if (results.empty()) {
        combined_info = info;
        combined_info.end_reason = overall_end;
        combined_info.missed_samples = stats.missed;
        combined_info.late_samples = stats.late;
        combined_info.scheduled_samples = stats.taken + stats.failed + stats.missed;
      } else {
        combined_info.paused_total += info.paused_total;
        for (const NativeObject& object : info.native_objects) {
          combined_info.native_objects.push_back(object);
        }
      }
      results.push_back(
          {.parent_pid = process.found.parent_pid, .profile = &profile, .info = std::move(info)});
    }
    combined_info.thread_process = thread_process_;
    for (const ProcessResult& result : results) {
      combined_info.tree_processes.push_back({result.profile, &result.info});
    }
    if (sampler_.over_cap() > 0) {
      PrintError(absl::StrFormat("%d more Python candidates than the %d processes sampled",
                                 sampler_.over_cap(), kMaxTreeProcesses));
    }
    const size_t left_out = sampler_.left_out();
    if (results.empty()) {
      PrintError(absl::StrCat("no samples recorded (", overall_end, ")"));
      return kExitFailure;
    }
    if (results.size() == 1) {
      // The one-process summary has no line for the tree's size: say what was left out here.
      if (left_out > 0) {
        PrintError(absl::StrFormat("%d more descendants beyond the %d read were not sampled",
                                   left_out, kMaxTreeProcesses));
      }
      WriteSummaryText(*results[0].profile, results[0].info, std::cerr);
    } else {
      WriteTreeSummaryText(results, left_out, std::cerr);
    }
    const bool ok =
        outputs_.Commit(options_, RenderProfile(options_.format, combined_, combined_info),
                        [&](std::ostream& json) { WriteTreeSummaryJson(results, left_out, json); });
    return ok ? kExitOk : kExitFailure;
  }

  const RecordOptions& options_;
  RecordOutputs outputs_;
  TreeSampler sampler_;
  std::vector<std::unique_ptr<Profile>> profiles_;  // by the sampler's process index
  absl::flat_hash_map<pid_t, pid_t> thread_process_;
  Profile combined_;
  bool stopped_by_signal_ = false;
};

}  // namespace

int RunTreeRecording(const RecordOptions& options) {
  TreeRecording recording(options);
  return recording.Run();
}

}  // namespace gilscope
