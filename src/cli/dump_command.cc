// gilscope dump --pid PID [--json] [--native [--native-all]] [--nonblocking]: one snapshot,
// printed as text or JSON.
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/dump_options.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/pauser.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/render/dump_output.h"
#include "gilscope/sampler/failure_policy.h"
#include "gilscope/sampler/paused_snapshot.h"

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

}  // namespace

int RunDumpCommand(const std::vector<std::string>& args) {
  auto parsed = ParseDumpOptions(args);
  if (auto* help = std::get_if<ShowHelp>(&parsed)) {
    std::cout << help->text;
    return kExitOk;
  }
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    PrintError(error->message);
    return kExitUsage;
  }
  const DumpOptions& options = std::get<DumpOptions>(parsed);

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
  const DumpTarget described{.pid = target->pid,
                             .executable = target->executable,
                             .command_line = target->command_line,
                             .python_binary = target->python_binary,
                             .version = target->version.text,
                             .free_threaded = target->free_threaded};
  DumpContext dump{described, *snapshot, options.pause};
  if (options.json) {
    WriteDumpJson(dump, std::cout);
  } else {
    WriteDumpText(dump, std::cout);
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace gilscope
