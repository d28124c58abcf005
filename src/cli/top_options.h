// `gilscope top` command line: parsed and checked before anything touches a process.
#ifndef GILSCOPE_CLI_TOP_OPTIONS_H_
#define GILSCOPE_CLI_TOP_OPTIONS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "cli/command_line.h"
#include "gilscope/aggregate/profile.h"

namespace gilscope {

struct TopOptions {
  pid_t pid = 0;                     // 0 in launch mode
  std::vector<std::string> command;  // launch mode: what follows "--"
  int rate_hz = 100;
  absl::Duration interval = absl::Seconds(1);  // between screens
  absl::Duration window = absl::Seconds(10);   // what a screen covers
  std::optional<absl::Duration> duration;      // none: until q, Ctrl-C or the target exits
  ProfileMode mode = ProfileMode::kBlame;      // the function list's view at start
  bool nonblocking = false;
  bool native = false;
  bool keep_plumbing = false;
  bool subprocesses = false;  // the target's tree: every descendant that runs Python too
  bool by_thread = false;     // --by-thread: a row per thread at start ('g' toggles)
  // --plain: a text screen per interval on standard output, for pipes and logs.
  bool plain = false;
};

inline constexpr int kMaxTopRateHz = 10000;  // the window keeps every sample of its span

std::variant<TopOptions, ShowHelp, UsageError> ParseTopOptions(
    const std::vector<std::string>& args);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_TOP_OPTIONS_H_
