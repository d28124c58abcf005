// `gilscope dump` command line: parsed and checked before anything touches a process.
#ifndef GILSCOPE_CLI_DUMP_OPTIONS_H_
#define GILSCOPE_CLI_DUMP_OPTIONS_H_

#include <sys/types.h>

#include <string>
#include <variant>
#include <vector>

#include "cli/command_line.h"

namespace gilscope {

struct DumpOptions {
  pid_t pid = 0;
  bool json = false;
  bool pause = true;           // false with --nonblocking
  bool native = false;         // --native
  bool keep_plumbing = false;  // --native-all
  bool subprocesses = false;   // --subprocesses: the target's descendants too
};

std::variant<DumpOptions, ShowHelp, UsageError> ParseDumpOptions(
    const std::vector<std::string>& args);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_DUMP_OPTIONS_H_
