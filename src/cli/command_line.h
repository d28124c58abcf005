// What both commands' command lines share: the checks dump and record make alike (a process
// id, the --native flags) and how a bad command line is reported.
#ifndef GILSCOPE_CLI_COMMAND_LINE_H_
#define GILSCOPE_CLI_COMMAND_LINE_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace gilscope {

// What a parser returns instead of options: --help's text, or why the command line is wrong.
struct ShowHelp {
  std::string text;
};
struct UsageError {
  std::string message;
};

// An option syntax error (Boost.Program_options' words), pointing at `command`'s --help.
UsageError OptionSyntaxError(const std::string& what, const std::string& command);

// --pid's value: a positive process id.
std::variant<pid_t, UsageError> ParsePid(const std::string& text);

// What record and top watch: --pid's value when given, or the program after "--" (`command`;
// `saw_dashes` when "--" was there at all), never both and never neither. The pid, or 0 to
// launch the program. `name` ("record") goes into the message that points at its --help.
std::variant<pid_t, UsageError> ParseTarget(const std::optional<std::string>& pid_text,
                                            const std::vector<std::string>& command,
                                            bool saw_dashes, const std::string& name);

// --native-all needs --native; --native needs the target paused (not --nonblocking).
std::optional<UsageError> CheckNativeChoice(bool native, bool keep_plumbing, bool nonblocking);

// Prints "gilscope: <message>" on stderr, one line.
void PrintError(const std::string& message);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_COMMAND_LINE_H_
