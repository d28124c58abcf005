#include "cli/record_options.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gilscope {
namespace {

namespace po = boost::program_options;

constexpr char kUsageLine[] =
    "Usage: gilscope record --pid PID [options]\n"
    "       gilscope record [options] -- python app.py [ARGS...]\n\n"
    "Samples every thread of a Python program over time: who holds the GIL, who waits for it,\n"
    "and which code makes the others wait. Writes a flame graph (every view in one SVG),\n"
    "collapsed stacks, speedscope JSON, pprof or a Perfetto trace, and prints a summary with a "
    "verdict on stderr.\n\n";

constexpr double kMaxDurationSeconds = 7 * 24 * 3600.0;

std::optional<OutputFormat> ParseFormat(const std::string& name) {
  if (name == "flamegraph") return OutputFormat::kFlameGraph;
  if (name == "collapsed") return OutputFormat::kCollapsed;
  if (name == "speedscope") return OutputFormat::kSpeedscope;
  if (name == "pprof") return OutputFormat::kPprof;
  if (name == "perfetto") return OutputFormat::kPerfetto;
  return std::nullopt;
}

const char* Extension(OutputFormat format) {
  switch (format) {
    case OutputFormat::kFlameGraph:
      return "svg";
    case OutputFormat::kCollapsed:
      return "txt";
    case OutputFormat::kSpeedscope:
      return "speedscope.json";
    case OutputFormat::kPprof:
      return "pb.gz";
    case OutputFormat::kPerfetto:
      return "perfetto-trace";
  }
  return "out";
}

}  // namespace

std::variant<RecordOptions, ShowHelp, UsageError> ParseRecordOptions(
    const std::vector<std::string>& args) {
  RecordOptions options;
  // Everything after "--" is the program to launch, untouched by option parsing.
  const auto dashes = std::find(args.begin(), args.end(), "--");
  const std::vector<std::string> own(args.begin(), dashes);
  if (dashes != args.end()) options.command.assign(dashes + 1, args.end());

  po::options_description described("gilscope record options");
  described.add_options()("help,h", "show this help")("pid,p", po::value<std::string>(),
                                                      "process id of a running Python program")(
      "output,o", po::value<std::string>(),
      "where to write (default gilscope-<pid>.svg; - for stdout)")(
      "format,f", po::value<std::string>()->default_value("flamegraph"),
      "flamegraph | collapsed | speedscope | pprof | perfetto")(
      "mode", po::value<std::string>()->default_value("blame"),
      "blame | wait | gil | wall | cpu: the view collapsed output writes and the SVG opens on")(
      "gil", "short for --mode gil")("rate,r", po::value<std::string>()->default_value("100"),
                                     "samples per second (1-100000)")(
      "duration,d", po::value<std::string>(),
      "seconds to record (default: until Ctrl-C or the program exits)")(
      "idle", "keep idle threads in the wall view")(
      "by-interpreter",
      "put an \"interpreter N\" root frame above each stack (subinterpreters, 3.12+)")(
      "by-thread",
      "a summary row per thread (default: threads named alike but for counters, 3 or more, "
      "share a row)")(
      "native",
      "merge native (C/C++) frames into the stacks of the GIL holder and of threads on a CPU")(
      "native-all", "with --native, keep CPython's own call-dispatch frames")(
      "subprocesses", "also every descendant that runs Python, each with its own summary")(
      "nonblocking", "read without pausing the target (cheaper for it, less consistent)")(
      "baseline", po::value<std::string>()->default_value("0.25"),
      "seconds to count GIL hand-offs, unobserved, before sampling (--pid; 0: skip), to "
      "report how much sampling changed them")("summary", po::value<std::string>(),
                                               "also write the summary as JSON to this file");
  po::variables_map values;
  try {
    po::store(po::command_line_parser(own).options(described).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    return OptionSyntaxError(error.what(), "record");
  }
  if (values.count("help")) {
    std::ostringstream text;
    text << kUsageLine << described;
    return ShowHelp{text.str()};
  }

  std::variant<pid_t, UsageError> target = ParseTarget(
      values.count("pid") ? std::optional(values["pid"].as<std::string>()) : std::nullopt,
      options.command, dashes != args.end(), "record");
  if (auto* error = std::get_if<UsageError>(&target)) return *error;
  options.pid = std::get<pid_t>(target);

  const std::string format = values["format"].as<std::string>();
  std::optional<OutputFormat> parsed_format = ParseFormat(format);
  if (!parsed_format) {
    return UsageError{absl::StrCat("unknown format '", format,
                                   "' (flamegraph, collapsed, speedscope, pprof or perfetto)")};
  }
  options.format = *parsed_format;

  const std::string mode = values["mode"].as<std::string>();
  std::optional<ProfileMode> parsed_mode = ParseProfileMode(mode);
  if (!parsed_mode) {
    return UsageError{absl::StrCat("unknown mode '", mode, "' (blame, wait, gil, wall or cpu)")};
  }
  options.mode = *parsed_mode;
  if (values.count("gil")) {
    if (!values["mode"].defaulted() && options.mode != ProfileMode::kGil) {
      return UsageError{"--gil means --mode gil; it cannot be combined with another --mode"};
    }
    options.mode = ProfileMode::kGil;
  }

  const std::string rate = values["rate"].as<std::string>();
  if (!absl::SimpleAtoi(rate, &options.rate_hz) || options.rate_hz < 1 ||
      options.rate_hz > kMaxRateHz) {
    return UsageError{absl::StrCat("--rate takes a whole number of samples per second from 1 to ",
                                   kMaxRateHz, ", not '", rate, "'")};
  }
  if (values.count("duration")) {
    const std::string text = values["duration"].as<std::string>();
    double seconds = 0;
    if (!absl::SimpleAtod(text, &seconds) || !std::isfinite(seconds) || seconds <= 0 ||
        seconds > kMaxDurationSeconds) {
      return UsageError{
          absl::StrCat("--duration takes a number of seconds above 0, not '", text, "'")};
    }
    options.duration = absl::Seconds(seconds);
  }
  const std::string baseline = values["baseline"].as<std::string>();
  double baseline_seconds = 0;
  if (!absl::SimpleAtod(baseline, &baseline_seconds) || !std::isfinite(baseline_seconds) ||
      baseline_seconds < 0 || baseline_seconds > kMaxBaselineSeconds) {
    return UsageError{absl::StrCat("--baseline takes a number of seconds from 0 to ",
                                   kMaxBaselineSeconds, ", not '", baseline, "'")};
  }
  options.baseline = absl::Seconds(baseline_seconds);
  options.idle = values.count("idle") > 0;
  options.by_interpreter = values.count("by-interpreter") > 0;
  options.by_thread = values.count("by-thread") > 0;
  options.nonblocking = values.count("nonblocking") > 0;
  options.native = values.count("native") > 0;
  options.keep_plumbing = values.count("native-all") > 0;
  options.subprocesses = values.count("subprocesses") > 0;
  if (std::optional<UsageError> error =
          CheckNativeChoice(options.native, options.keep_plumbing, options.nonblocking)) {
    return *error;
  }
  if (values.count("summary")) options.summary_path = values["summary"].as<std::string>();
  options.output =
      values.count("output") ? values["output"].as<std::string>() : DefaultOutputPath(options);
  if (options.output.empty()) return UsageError{"-o needs a file name"};
  if (options.summary_path == options.output && options.output != "-") {
    return UsageError{"--summary and -o name the same file"};
  }
  return options;
}

std::string DefaultOutputPath(const RecordOptions& options) {
  std::string who;
  if (options.pid != 0) {
    who = absl::StrCat(options.pid);
  } else {
    // The program's own name, kept to characters safe in a file name.
    const std::string& program = options.command.front();
    const size_t slash = program.rfind('/');
    for (char c : program.substr(slash == std::string::npos ? 0 : slash + 1)) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') who += c;
    }
    if (who.empty()) who = "program";
  }
  return absl::StrCat("gilscope-", who, ".", Extension(options.format));
}

}  // namespace gilscope
