// gilscope record --subprocesses (--pid PID | -- COMMAND...): the tree of the target is read at
// the start and about once a second after; every process in it that runs Python gets its own
// session (version, layout, taker, pause) and Profile. One schedule: each tick samples every
// live process in turn. A process whose sample took longer than a period sits the next tick
// out (counted as missed for it), so one slow process cannot hold the rest back for long.
// Flame formats draw one combined Profile whose stacks sit under a "pid N: command" root
// frame; the summary comes from the per-process Profiles.
#include "cli/record_tree.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/live_status.h"
#include "cli/record_outputs.h"
#include "cli/stop_signals.h"
#include "cli/target_session.h"
#include "gilscope/proc/process_tree.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/tree_summary.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {

namespace {

constexpr absl::Duration kRescanEvery = absl::Seconds(1);
// Threads whose process pprof and Perfetto are told (RecordingInfo::thread_process); beyond,
// a thread is put under the root's pid.
constexpr size_t kMaxThreadsMapped = 1 << 16;

// One process of the tree being sampled.
struct TracedProcess {
  TracedProcess(const TreeProcess& found, const TargetSessionOptions& options, bool idle)
      : found(found), session(options), profile(idle) {}
  TreeProcess found;
  TargetSession session;
  SamplingHooks hooks;  // take and classify, from the session
  Profile profile;
  SharedText label;  // its root frame in the combined Profile
  bool live = true;
  bool sit_out = false;  // its last sample over-ran a period: skip the next tick
  int consecutive_failures = 0;
  int64_t ticks = 0, missed = 0;
  std::string end_reason;
  std::optional<absl::Time> first_sample_wall;
};

class TreeRecording {
 public:
  explicit TreeRecording(const RecordOptions& options)
      : options_(options), combined_(options.idle), period_(absl::Seconds(1) / options.rate_hz) {}

  int Run() {
    if (absl::Status opened = outputs_.Open(options_); !opened.ok()) {
      PrintError(std::string(opened.message()));
      return kExitFailure;
    }
    InstallStopHandlers();
    if (absl::Status started = Start(); !started.ok()) {
      PrintError(std::string(started.message()));
      return kExitFailure;
    }
    const SamplingStats stats = Sample();
    const int exit_code = Report(stats);
    if (!processes_.empty() && !options_.command.empty()) {
      processes_.front()->session.Finish(stopped_by_signal_);
    }
    return exit_code;
  }

 private:
  TargetSessionOptions SessionOptions(pid_t pid) const {
    return {.pid = pid,
            .command = pid == 0 ? options_.command : std::vector<std::string>{},
            .native = options_.native,
            .keep_plumbing = options_.keep_plumbing,
            .nonblocking = options_.nonblocking,
            .rate_hz = options_.rate_hz};
  }

  // Launch mode: the launched program is the root and must run Python (as without
  // --subprocesses). Attach mode: the root may be anything, if the tree holds Python.
  absl::Status Start() {
    root_ = options_.pid;
    if (!options_.command.empty()) {
      auto launched =
          std::make_unique<TracedProcess>(TreeProcess{}, SessionOptions(0), options_.idle);
      if (absl::Status started = launched->session.Start(); !started.ok()) return started;
      root_ = launched->session.pid();
      launched->found = {.pid = root_,
                         .parent_pid = ::getpid(),
                         .command_line = launched->session.target().command_line};
      Adopt(std::move(launched));
    }
    Scan();
    if (processes_.empty()) {
      if (root_gone_) return absl::NotFoundError(absl::StrFormat("no process with PID %d", root_));
      return absl::NotFoundError(
          absl::StrFormat("no Python process in the tree of PID %d could be read", root_));
    }
    return absl::OkStatus();
  }

  void Adopt(std::unique_ptr<TracedProcess> process) {
    process->hooks = process->session.Hooks();
    process->label = ProcessRootLabel(process->found.pid, process->found.command_line);
    sampled_.insert(process->found.pid);
    processes_.push_back(std::move(process));
  }

  // Reads the tree and starts a session for every Python process not seen before. A process
  // that is not Python is remembered with its command line (an exec into Python changes it);
  // one that cannot be read is named once and tried again at the next scan.
  void Scan() {
    absl::StatusOr<ProcessTree> tree = ReadProcessTree(root_);
    if (!tree.ok() || tree->processes.empty() || tree->processes.front().zombie) {
      root_gone_ = true;
      if (!tree.ok()) return;
    }
    left_out_ = std::max(left_out_, tree->left_out);
    for (const TreeProcess& process : tree->processes) {
      if (process.zombie || process.pid == ::getpid() || sampled_.contains(process.pid)) continue;
      auto not_python = not_python_.find(process.pid);
      if (not_python != not_python_.end() && not_python->second == process.command_line) continue;
      if (processes_.size() >= kMaxTreeProcesses) {
        over_cap_.insert(process.pid);
        continue;
      }
      auto traced =
          std::make_unique<TracedProcess>(process, SessionOptions(process.pid), options_.idle);
      const absl::Status started = traced->session.Start();
      if (absl::IsInvalidArgument(started)) {
        not_python_[process.pid] = process.command_line;
      } else if (absl::IsNotFound(started)) {
        // Gone since the tree was read.
      } else if (!started.ok()) {
        if (named_.insert(process.pid).second) {
          std::string named = process.command_line.substr(0, kProcessLabelCommand);
          if (named.size() < process.command_line.size()) named += "...";
          PrintError(TerminalSafe(absl::StrFormat("process %d (%s) skipped: %s", process.pid, named,
                                                  started.message())));
        }
      } else {
        Adopt(std::move(traced));
      }
    }
  }

  void Retire(TracedProcess& process, std::string reason) {
    process.live = false;
    process.end_reason = std::move(reason);
  }

  void SampleOne(TracedProcess& process, MonotonicClock& clock) {
    ++process.ticks;
    if (process.sit_out) {
      process.sit_out = false;
      ++process.missed;
      return;
    }
    const absl::Time start = clock.Now();
    absl::StatusOr<Snapshot> snapshot = process.hooks.take();
    const absl::Time end = clock.Now();
    process.sit_out = end - start > period_;
    if (snapshot.ok()) {
      process.consecutive_failures = 0;
      if (!process.first_sample_wall) process.first_sample_wall = absl::Now();
      process.profile.AddSample(*snapshot, end);
      for (const ThreadSnapshot& thread : snapshot->threads) {
        if (thread_process_.size() >= kMaxThreadsMapped) break;
        thread_process_.try_emplace(thread.native_id, process.found.pid);
      }
      for (ThreadSnapshot& thread : snapshot->threads) {
        thread.frames.push_back(Frame{.function = process.label, .line = -1});
      }
      combined_.AddSample(*snapshot, end);
      return;
    }
    const absl::Status& status = snapshot.status();
    switch (process.hooks.classify(status)) {
      case FailureMeaning::kTargetExited:
        Retire(process, SamplingEndName(SamplingEnd::kTargetExited));
        return;
      case FailureMeaning::kTargetReplaced:
      case FailureMeaning::kNotPython:
        Retire(process, SamplingEndName(SamplingEnd::kTargetReplaced));
        return;
      case FailureMeaning::kFatal:
        break;
      case FailureMeaning::kTransient:
        process.profile.AddError();
        if (++process.consecutive_failures < kMaxConsecutiveFailures) return;
        break;
    }
    PrintError(TerminalSafe(
        absl::StrFormat("process %d: sampling stopped: %s", process.found.pid, status.message())));
    Retire(process, absl::StrCat("failed: ", status.message()));
  }

  // One tick of the shared schedule: every live process in turn; the tree re-read about once
  // a second. Fails (as "target exited") once no process is live and the root is gone.
  absl::StatusOr<Snapshot> TakeAll(MonotonicClock& clock) {
    const absl::Time now = clock.Now();
    if (now >= next_scan_) {
      next_scan_ = now + kRescanEvery;
      if (!root_gone_) Scan();
    }
    bool any_live = false;
    for (const std::unique_ptr<TracedProcess>& process : processes_) {
      if (!process->live) continue;
      SampleOne(*process, clock);
      any_live = any_live || process->live;
    }
    if (!any_live && root_gone_) return absl::NotFoundError("every process of the tree exited");
    return Snapshot{};
  }

  SamplingStats Sample() {
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    LiveStatus live(isatty(STDERR_FILENO) == 1);
    MonotonicClock clock;
    next_scan_ = clock.Now() + kRescanEvery;
    SamplingHooks hooks;
    hooks.take = [&]() { return TakeAll(clock); };
    hooks.on_sample = [](const Snapshot&, absl::Time) {};
    hooks.classify = [](const absl::Status&) { return FailureMeaning::kTargetExited; };
    hooks.should_stop = [&]() {
      if (StopSignal() != 0) return true;
      // The launched root ended: its reaped pid no longer shows in /proc as a zombie would.
      if (!options_.command.empty() && processes_.front()->session.ChildExited()) {
        root_gone_ = true;
      }
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
    std::vector<RecordingInfo> infos;
    std::vector<ProcessResult> results;
    RecordingInfo combined_info;
    for (const std::unique_ptr<TracedProcess>& process : processes_) {
      if (process->profile.Figures().samples == 0) continue;
      RecordingInfo info = Describe(*process, stats, overall_end);
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
      results.push_back({.parent_pid = process->found.parent_pid,
                         .profile = &process->profile,
                         .info = std::move(info)});
    }
    combined_info.thread_process = thread_process_;
    if (!over_cap_.empty()) {
      PrintError(absl::StrFormat("%d more Python candidates than the %d processes sampled",
                                 over_cap_.size(), kMaxTreeProcesses));
    }
    const size_t left_out = left_out_ + over_cap_.size();
    if (results.empty()) {
      PrintError(absl::StrCat("no samples recorded (", overall_end, ")"));
      return kExitFailure;
    }
    if (results.size() == 1) {
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
  pid_t root_ = 0;
  bool root_gone_ = false;
  std::vector<std::unique_ptr<TracedProcess>> processes_;  // in the order found
  std::set<pid_t> sampled_;
  std::map<pid_t, std::string> not_python_;  // with the command line it had then
  std::set<pid_t> named_;                    // unreadable, already said on stderr
  std::set<pid_t> over_cap_;
  absl::flat_hash_map<pid_t, pid_t> thread_process_;
  size_t left_out_ = 0;
  Profile combined_;
  absl::Duration period_;
  absl::Time next_scan_;
  bool stopped_by_signal_ = false;
};

}  // namespace

int RunTreeRecording(const RecordOptions& options) {
  TreeRecording recording(options);
  return recording.Run();
}

}  // namespace gilscope
