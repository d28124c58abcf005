#include "cli/command_line.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gilscope {

UsageError OptionSyntaxError(const std::string& what, const std::string& command) {
  return UsageError{absl::StrCat(what, " (see gilscope ", command, " --help)")};
}

std::variant<pid_t, UsageError> ParseTarget(const std::optional<std::string>& pid_text,
                                            const std::vector<std::string>& command,
                                            bool saw_dashes, const std::string& name) {
  pid_t pid = 0;
  if (pid_text) {
    std::variant<pid_t, UsageError> parsed = ParsePid(*pid_text);
    if (auto* error = std::get_if<UsageError>(&parsed)) return *error;
    pid = std::get<pid_t>(parsed);
  }
  if (pid != 0 && !command.empty()) {
    return UsageError{"give either --pid PID or a program to launch after --, not both"};
  }
  if (pid == 0 && command.empty()) {
    return UsageError{saw_dashes
                          ? "nothing to launch after --"
                          : absl::StrCat(name, " needs --pid PID or -- COMMAND (see gilscope ",
                                         name, " --help)")};
  }
  return pid;
}

std::variant<pid_t, UsageError> ParsePid(const std::string& text) {
  pid_t pid = 0;
  if (!absl::SimpleAtoi(text, &pid) || pid <= 0) {
    return UsageError{
        absl::StrCat("--pid takes a process id (a positive number), not '", text, "'")};
  }
  return pid;
}

std::optional<UsageError> CheckNativeChoice(bool native, bool keep_plumbing, bool nonblocking) {
  if (keep_plumbing && !native) return UsageError{"--native-all goes with --native"};
  if (native && nonblocking) {
    // Unwinding starts from each thread's registers, which ptrace gives only while it is stopped.
    return UsageError{
        "--native needs the target paused (ptrace reads each thread's registers); drop "
        "--nonblocking"};
  }
  return std::nullopt;
}

void PrintError(const std::string& message) { std::cerr << "gilscope: " << message << "\n"; }

}  // namespace gilscope
