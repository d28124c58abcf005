#include "cli/command_line.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gilscope {

UsageError OptionSyntaxError(const std::string& what, const std::string& command) {
  return UsageError{absl::StrCat(what, " (see gilscope ", command, " --help)")};
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
