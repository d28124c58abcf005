// gilscope dump --pid PID [--json] [--native [--native-all]] [--nonblocking]
#include <boost/program_options.hpp>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/cli/commands.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/render/dump_output.h"
#include "gilscope/sampler/paused_snapshot.h"

namespace gilscope {
namespace {

namespace po = boost::program_options;

constexpr int kSnapshotAttempts = 3;  // a snapshot can race thread creation or exit

struct DumpChoices {
  bool pause = true;
  bool native = false;
  bool keep_plumbing = false;
};

absl::StatusOr<Snapshot> TakeDumpSnapshot(const PythonTarget& target, ProcessMemory& memory,
                                          ProcTaskReader& tasks, const DumpChoices& choices) {
  const bool pause = choices.pause;
  absl::Status last = absl::OkStatus();
  for (int attempt = 0; attempt < kSnapshotAttempts; ++attempt) {
    SnapshotTaker taker(target, memory, tasks);
    if (choices.native) {
      RETURN_IF_ERROR(taker.EnableNativeStacks(NativeStacks::kAll, choices.keep_plumbing));
    }
    absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, target.pid, pause);
    if (snapshot.ok() || absl::IsNotFound(snapshot.status()) ||
        absl::IsPermissionDenied(snapshot.status())) {
      return snapshot;
    }
    last = snapshot.status();
  }
  return last;
}

}  // namespace

int RunDumpCommand(const std::vector<std::string>& args) {
  po::options_description options("gilscope dump options");
  options.add_options()("help,h", "show this help")("pid,p", po::value<std::string>(),
                                                    "process id of the Python program")(
      "json", "print JSON instead of text")(
      "native", "also show native (C/C++) frames, merged with the Python frames")(
      "native-all", "with --native, keep CPython's own call-dispatch frames")(
      "nonblocking", "read without pausing the target (less consistent)");
  po::variables_map values;
  try {
    po::store(po::command_line_parser(args).options(options).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    PrintError(absl::StrCat(error.what(), " (see gilscope dump --help)"));
    return kExitUsage;
  }
  if (values.count("help")) {
    std::cout
        << "Usage: gilscope dump --pid PID [--json] [--native [--native-all]] [--nonblocking]\n\n"
           "Shows every thread of a running Python process: its Python stack, and whether it\n"
           "holds the GIL, waits for it, runs native code without it, or is idle.\n\n"
        << options;
    return kExitOk;
  }
  if (!values.count("pid")) {
    PrintError("dump needs --pid PID");
    return kExitUsage;
  }
  int pid = 0;
  const std::string pid_text = values["pid"].as<std::string>();
  if (!absl::SimpleAtoi(pid_text, &pid) || pid <= 0) {
    PrintError(absl::StrCat("--pid takes a process id (a positive number), not '", pid_text, "'"));
    return kExitUsage;
  }

  DumpChoices choices;
  choices.pause = !values.count("nonblocking");
  choices.native = values.count("native") > 0;
  choices.keep_plumbing = values.count("native-all") > 0;
  if (choices.keep_plumbing && !choices.native) {
    PrintError("--native-all goes with --native");
    return kExitUsage;
  }
  if (choices.native && !choices.pause) {
    PrintError(
        "--native needs the target paused (ptrace reads each thread's registers); drop "
        "--nonblocking");
    return kExitUsage;
  }

  ProcessMemory memory(pid);
  absl::StatusOr<PythonTarget> target = LocatePython(pid, memory);
  if (!target.ok()) {
    PrintError(std::string(target.status().message()));
    return kExitFailure;
  }
  if (!target->warning.empty()) PrintError(target->warning);
  ProcTaskReader tasks(pid);
  absl::StatusOr<Snapshot> snapshot = TakeDumpSnapshot(*target, memory, tasks, choices);
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
  DumpContext dump{described, *snapshot, choices.pause};
  if (values.count("json")) {
    WriteDumpJson(dump, std::cout);
  } else {
    WriteDumpText(dump, std::cout);
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace gilscope
