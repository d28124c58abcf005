// gilscope: who holds the GIL, who waits for it, and which code makes the others wait.
#include <signal.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/commands.h"

namespace gilscope {
namespace {

constexpr char kUsage[] =
    "Usage: gilscope <command> [options]\n\n"
    "Commands:\n"
    "  dump --pid PID [--json] [--nonblocking]   every thread's stack and GIL state, now\n"
    "  record --pid PID -o FILE [options]        GIL flame graphs and a verdict, over time\n"
    "  record -o FILE [options] -- python app.py  the same, for a program gilscope starts\n"
    "  top --pid PID [options]                   the GIL live, in the terminal\n\n"
    "Run 'gilscope <command> --help' for a command's options; 'man gilscope' for details.\n";

int Main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is a write error, not a silent death
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "gilscope " << GILSCOPE_VERSION << "\n";
    return kExitOk;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "dump") return RunDumpCommand(args);
  if (command == "record") return RunRecordCommand(args);
  if (command == "top") return RunTopCommand(args);
  PrintError("unknown command '" + command + "' (try: gilscope --help)");
  return kExitUsage;
}

}  // namespace
}  // namespace gilscope

int main(int argc, char** argv) {
  try {
    return gilscope::Main(argc, argv);
  } catch (const std::exception& error) {  // last line of defence: one line, no stack trace
    gilscope::PrintError(std::string("internal error: ") + error.what());
    return gilscope::kExitFailure;
  }
}
