// `gilscope record` command line: parsed and checked before anything touches a process.
#ifndef GILSCOPE_CLI_RECORD_OPTIONS_H_
#define GILSCOPE_CLI_RECORD_OPTIONS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "cli/command_line.h"
#include "gilscope/aggregate/profile.h"

namespace gilscope {

enum class OutputFormat { kFlameGraph, kCollapsed, kSpeedscope, kPprof, kPerfetto };
// pprof and Perfetto files are binary: never written to a terminal.
inline bool IsBinaryFormat(OutputFormat format) {
  return format == OutputFormat::kPprof || format == OutputFormat::kPerfetto;
}

inline constexpr int kMaxRateHz = 100000;
// Up to this rate a paused sample is rehearsed first (TakeSnapshot): samples are far enough
// apart for caches to go cold, and doubling gilscope's work per sample costs little.
inline constexpr int kMaxRehearsedRateHz = 1000;  // as CPython 3.15's own sampler; beyond, refused

struct RecordOptions {
  pid_t pid = 0;                     // 0 in launch mode
  std::vector<std::string> command;  // launch mode: what follows "--"
  std::string output;
  OutputFormat format = OutputFormat::kFlameGraph;
  ProfileMode mode = ProfileMode::kBlame;
  int rate_hz = 100;
  std::optional<absl::Duration> duration;
  bool idle = false;
  bool by_interpreter = false;  // --by-interpreter: stacks split under an "interpreter N" root
  bool by_thread = false;       // --by-thread: a summary row per thread, no groups
  bool nonblocking = false;
  bool native = false;         // --native
  bool keep_plumbing = false;  // --native-all
  bool subprocesses = false;   // --subprocesses: the target and its Python descendants
  std::string summary_path;    // empty: no JSON summary
  // --baseline: how long to watch the GIL's hand-offs, unobserved, before sampling (--pid
  // only; zero: not at all), to tell how much sampling changed them.
  absl::Duration baseline = absl::Milliseconds(250);
};

inline constexpr double kMaxBaselineSeconds = 60;

std::variant<RecordOptions, ShowHelp, UsageError> ParseRecordOptions(
    const std::vector<std::string>& args);

// The output path used when -o is not given: gilscope-<pid or program>.<extension of format>.
std::string DefaultOutputPath(const RecordOptions& options);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_RECORD_OPTIONS_H_
