// gilscope dump --pid PID [--subprocesses] [--json] [--native [--native-all]] [--nonblocking]:
// one snapshot (of each Python process of the tree, with --subprocesses), as text or JSON.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/dump_options.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/pauser.h"
#include "gilscope/proc/process_tree.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/render/dump_output.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/sampler/failure_policy.h"
#include "gilscope/sampler/paused_snapshot.h"
#include "gilscope/walkers/free_threaded_gil.h"

namespace gilscope {
namespace {

constexpr int kSnapshotAttempts = 3;  // a snapshot can race thread creation or exit

absl::StatusOr<Snapshot> TakeDumpSnapshot(const PythonTarget& target, ProcessMemory& memory,
                                          ProcTaskReader& tasks, const DumpOptions& choices) {
  const bool pause = choices.pause;
  absl::Status last = absl::OkStatus();
  for (int attempt = 0; attempt < kSnapshotAttempts; ++attempt) {
    SnapshotTaker taker(target, memory, tasks);
    if (choices.native) {
      RETURN_IF_ERROR(taker.EnableNativeStacks(NativeStacks::kAll, choices.keep_plumbing));
    }
    PtracePauser pauser(target.pid);
    absl::StatusOr<Snapshot> snapshot =
        TakeSnapshot(taker, pauser, pause ? Pausing::kWholeProcess : Pausing::kNone);
    if (snapshot.ok() || Classify(snapshot.status()) != FailureMeaning::kTransient) {
      return snapshot;
    }
    last = snapshot.status();
  }
  return last;
}

// What dump says of `target`; reads why a free-threaded build's GIL is on from `memory`.
DumpTarget Described(const PythonTarget& target, RemoteMemory& memory) {
  return DumpTarget{.pid = target.pid,
                    .executable = target.executable,
                    .command_line = target.command_line,
                    .python_binary = target.python_binary,
                    .version = target.version.text,
                    .free_threaded = target.free_threaded,
                    .free_threaded_gil =
                        ReadMainFreeThreadedGil(memory, *target.layout, target.interpreters_head)};
}

// One process of the tree: dumped into `dump`, or why not. Says on stderr what the user should
// hear of (a process that runs Python but cannot be read); non-Python processes and those
// gone since the tree was read pass quietly.
std::optional<SkippedProcess> DumpOne(const TreeProcess& process, const DumpOptions& options,
                                      TreeDump& dump) {
  SkippedProcess skipped{
      .pid = process.pid, .parent_pid = process.parent_pid, .command_line = process.command_line};
  auto unreadable = [&](const absl::Status& status) {
    skipped.why = SkippedProcess::Why::kUnreadable;
    skipped.message = std::string(status.message());
    std::string named = process.command_line.substr(0, 60);
    if (named.size() < process.command_line.size()) named += "...";
    PrintError(TerminalSafe(
        absl::StrFormat("process %d (%s) skipped: %s", process.pid, named, skipped.message)));
    return skipped;
  };
  // A zombie has no memory left to read; gilscope itself (the tree of a shell that started it)
  // is not Python, and must not be paused by itself.
  if (process.zombie) {
    skipped.why = SkippedProcess::Why::kExited;
    return skipped;
  }
  if (process.pid == ::getpid()) return skipped;
  ProcessMemory memory(process.pid);
  absl::StatusOr<PythonTarget> target = LocatePython(process.pid, memory);
  if (absl::IsInvalidArgument(target.status())) return skipped;
  if (absl::IsNotFound(target.status())) {
    skipped.why = SkippedProcess::Why::kExited;
    return skipped;
  }
  if (!target.ok()) return unreadable(target.status());
  if (!target->warning.empty()) {
    PrintError(TerminalSafe(absl::StrFormat("process %d: %s", process.pid, target->warning)));
  }
  ProcTaskReader tasks(process.pid);
  absl::StatusOr<Snapshot> snapshot = TakeDumpSnapshot(*target, memory, tasks, options);
  if (absl::IsNotFound(snapshot.status())) {
    skipped.why = SkippedProcess::Why::kExited;
    return skipped;
  }
  if (!snapshot.ok()) return unreadable(snapshot.status());
  dump = TreeDump{.parent_pid = process.parent_pid,
                  .target = Described(*target, memory),
                  .snapshot = *std::move(snapshot),
                  .paused = options.pause};
  return std::nullopt;
}

// --subprocesses: each process is paused only while it is read, one after another. Text is
// printed as each is read; JSON once all are.
int RunTreeDump(const DumpOptions& options) {
  absl::StatusOr<ProcessTree> tree = ReadProcessTree(options.pid);
  if (!tree.ok()) {
    PrintError(absl::StrFormat("no process with PID %d", options.pid));
    return kExitFailure;
  }
  if (tree->unscanned > 0) {
    PrintError(absl::StrFormat(
        "/proc lists more than %d processes: %d were not looked at, so the tree may lack some",
        kMaxScannedProcesses, tree->unscanned));
  }
  if (tree->left_out > 0) {
    PrintError(absl::StrFormat("the tree of PID %d has %d more processes than the %d read",
                               options.pid, tree->left_out, kMaxTreeProcesses));
  }
  std::vector<TreeDump> dumped;
  std::vector<SkippedProcess> skipped;
  size_t count = 0;
  for (const TreeProcess& process : tree->processes) {
    TreeDump dump;
    if (std::optional<SkippedProcess> why = DumpOne(process, options, dump)) {
      skipped.push_back(*std::move(why));
      continue;
    }
    if (options.json) {
      dumped.push_back(std::move(dump));
    } else {
      if (count > 0) std::cout << "\n";
      WriteTreeDumpText(dump, std::cout);
      std::cout.flush();
    }
    ++count;
  }
  if (count == 0) {
    const bool any_unreadable =
        std::any_of(skipped.begin(), skipped.end(), [](const SkippedProcess& process) {
          return process.why == SkippedProcess::Why::kUnreadable;
        });
    PrintError(absl::StrCat(absl::StrFormat("no Python process in the tree of PID %d", options.pid),
                            any_unreadable ? " could be read" : ""));
    return kExitFailure;
  }
  if (options.json) WriteTreeDumpJson(dumped, skipped, tree->left_out, std::cout);
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailure;
}

// One process (or its tree, --subprocesses), read and printed.
int Dump(const DumpOptions& options) {
  if (options.subprocesses) return RunTreeDump(options);

  ProcessMemory memory(options.pid);
  absl::StatusOr<PythonTarget> target = LocatePython(options.pid, memory);
  if (!target.ok()) {
    PrintError(std::string(target.status().message()));
    return kExitFailure;
  }
  if (!target->warning.empty()) PrintError(target->warning);
  ProcTaskReader tasks(options.pid);
  absl::StatusOr<Snapshot> snapshot = TakeDumpSnapshot(*target, memory, tasks, options);
  if (!snapshot.ok()) {
    PrintError(std::string(snapshot.status().message()));
    return kExitFailure;
  }
  const DumpTarget described = Described(*target, memory);
  DumpContext dump{described, *snapshot, options.pause};
  if (options.json) {
    WriteDumpJson(dump, std::cout);
  } else {
    WriteDumpText(dump, std::cout);
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

int RunDumpCommand(const std::vector<std::string>& args) {
  return RunParsed(ParseDumpOptions(args), Dump);
}

}  // namespace gilscope
