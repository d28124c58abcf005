// The subcommands. Each parses its own arguments and returns the process exit code.
#ifndef GILSCOPE_CLI_COMMANDS_H_
#define GILSCOPE_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace gilscope {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the target could not be profiled
inline constexpr int kExitUsage = 2;    // the command line is wrong

int RunDumpCommand(const std::vector<std::string>& args);
int RunRecordCommand(const std::vector<std::string>& args);
int RunTopCommand(const std::vector<std::string>& args);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_COMMANDS_H_
