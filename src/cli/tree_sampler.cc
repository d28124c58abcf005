#include "cli/tree_sampler.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command_line.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/tree_summary.h"

namespace gilscope {

namespace {
constexpr absl::Duration kRescanEvery = absl::Seconds(1);
}  // namespace

TargetSessionOptions TreeSampler::SessionOptions(pid_t pid) const {
  TargetSessionOptions options = options_;
  options.pid = pid;
  if (pid != 0) options.command.clear();
  return options;
}

absl::Status TreeSampler::Start() {
  root_ = options_.pid;
  if (launched()) {
    auto root = std::make_unique<TracedProcess>(TreeProcess{}, SessionOptions(0));
    if (absl::Status started = root->session.Start(); !started.ok()) return started;
    root_ = root->session.pid();
    root->found = {.pid = root_,
                   .parent_pid = ::getpid(),
                   .command_line = root->session.target().command_line};
    Adopt(std::move(root));
  }
  Scan();
  if (processes_.empty()) {
    if (root_gone_) return absl::NotFoundError(absl::StrFormat("no process with PID %d", root_));
    return absl::NotFoundError(
        absl::StrFormat("no Python process in the tree of PID %d could be read", root_));
  }
  return absl::OkStatus();
}

void TreeSampler::Adopt(std::unique_ptr<TracedProcess> process) {
  process->hooks = process->session.Hooks();
  process->label = SharedText(ProcessRootLabel(process->found.pid, process->found.command_line));
  sampled_.insert(process->found.pid);
  processes_.push_back(std::move(process));
}

// Reads the tree and starts a session for every Python process not seen before. A process
// that is not Python is remembered with its command line (an exec into Python changes it);
// one that cannot be read is named once and tried again at the next scan.
void TreeSampler::Scan() {
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
    auto traced = std::make_unique<TracedProcess>(process, SessionOptions(process.pid));
    const absl::Status started = traced->session.Start();
    if (absl::IsInvalidArgument(started)) {
      not_python_[process.pid] = process.command_line;
    } else if (absl::IsNotFound(started)) {
      // Gone since the tree was read.
    } else if (!started.ok()) {
      if (named_.insert(process.pid).second) {
        std::string named = process.command_line.substr(0, kProcessLabelCommand);
        if (named.size() < process.command_line.size()) named += "...";
        PrintError(TerminalSafe(
            absl::StrFormat("process %d (%s) skipped: %s", process.pid, named, started.message())));
      }
    } else {
      Adopt(std::move(traced));
    }
  }
}

void TreeSampler::SampleOne(size_t index, MonotonicClock& clock, const OnSnapshot& on_snapshot,
                            const OnError& on_error) {
  TracedProcess& process = *processes_[index];
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
    process.session.RefreshFreeThreadedGil();  // at most once a second, free-threaded only
    on_snapshot(index, *snapshot, end);
    return;
  }
  const absl::Status& status = snapshot.status();
  auto retire = [&](std::string reason) {
    process.live = false;
    process.end_reason = std::move(reason);
  };
  switch (process.hooks.classify(status)) {
    case FailureMeaning::kTargetExited:
      retire(SamplingEndName(SamplingEnd::kTargetExited));
      return;
    case FailureMeaning::kTargetReplaced:
    case FailureMeaning::kNotPython:
      retire(SamplingEndName(SamplingEnd::kTargetReplaced));
      return;
    case FailureMeaning::kFatal:
      break;
    case FailureMeaning::kTransient:
      on_error(index);
      if (++process.consecutive_failures < kMaxConsecutiveFailures) return;
      break;
  }
  PrintError(TerminalSafe(
      absl::StrFormat("process %d: sampling stopped: %s", process.found.pid, status.message())));
  retire(absl::StrCat("failed: ", status.message()));
}

absl::Status TreeSampler::Tick(MonotonicClock& clock, const OnSnapshot& on_snapshot,
                               const OnError& on_error) {
  const absl::Time now = clock.Now();
  if (!next_scan_) next_scan_ = now + kRescanEvery;
  if (now >= *next_scan_) {
    next_scan_ = now + kRescanEvery;
    if (!root_gone_) Scan();
  }
  bool any_live = false;
  for (size_t i = 0; i < processes_.size(); ++i) {
    if (!processes_[i]->live) continue;
    SampleOne(i, clock, on_snapshot, on_error);
    any_live = any_live || processes_[i]->live;
  }
  if (!any_live && root_gone_) return absl::NotFoundError("every process of the tree exited");
  return absl::OkStatus();
}

void TreeSampler::CheckLaunchedRoot() {
  if (launched() && !processes_.empty() && processes_.front()->session.ChildExited()) {
    root_gone_ = true;
  }
}

}  // namespace gilscope
