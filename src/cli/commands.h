// The subcommands. Each parses its own arguments and returns the process exit code.
#ifndef GILSCOPE_CLI_COMMANDS_H_
#define GILSCOPE_CLI_COMMANDS_H_

#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "cli/command_line.h"

namespace gilscope {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the target could not be profiled
inline constexpr int kExitUsage = 2;    // the command line is wrong

// What every command does with its parser's answer: --help's text on stdout (exit 0), a wrong
// command line in one line on stderr (exit 2), or `run` with the options.
template <typename Options, typename Run>
int RunParsed(const std::variant<Options, ShowHelp, UsageError>& parsed, Run run) {
  if (auto* help = std::get_if<ShowHelp>(&parsed)) {
    std::cout << help->text;
    return kExitOk;
  }
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    PrintError(error->message);
    return kExitUsage;
  }
  return run(std::get<Options>(parsed));
}

int RunDumpCommand(const std::vector<std::string>& args);
int RunRecordCommand(const std::vector<std::string>& args);
int RunTopCommand(const std::vector<std::string>& args);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_COMMANDS_H_
