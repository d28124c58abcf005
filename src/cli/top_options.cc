#include "cli/top_options.h"

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
    "Usage: gilscope top --pid PID [options]\n"
    "       gilscope top [options] -- python app.py [ARGS...]\n\n"
    "A live view of a Python program's GIL in the terminal, refreshed every --interval over\n"
    "the last --window: who holds the GIL, who waits, each thread's shares, and the code of\n"
    "the chosen view. Keys: v or 1-5 view, s sort, t idle threads, g group threads,\n"
    "p freeze, r reset, q quit.\n\n";

// Seconds from `text` within (0, max]; nullopt when it is not such a number.
std::optional<absl::Duration> ParseSeconds(const std::string& text, double max) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > max) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

}  // namespace

std::variant<TopOptions, ShowHelp, UsageError> ParseTopOptions(
    const std::vector<std::string>& args) {
  TopOptions options;
  const auto dashes = std::find(args.begin(), args.end(), "--");
  const std::vector<std::string> own(args.begin(), dashes);
  if (dashes != args.end()) options.command.assign(dashes + 1, args.end());

  po::options_description described("gilscope top options");
  described.add_options()("help,h", "show this help")("pid,p", po::value<std::string>(),
                                                      "process id of a running Python program")(
      "rate,r", po::value<std::string>()->default_value("100"), "samples per second (1-10000)")(
      "interval", po::value<std::string>()->default_value("1"), "seconds between screens (0.1-60)")(
      "window", po::value<std::string>()->default_value("10"),
      "seconds of samples a screen covers (1-600)")(
      "duration,d", po::value<std::string>(),
      "seconds to run (default: until q, Ctrl-C or the program exits)")(
      "mode", po::value<std::string>()->default_value("blame"),
      "blame | wait | gil | wall | cpu: the function list's view at start")(
      "native", "merge native (C/C++) frames into the stacks of the holder and threads on a CPU")(
      "native-all", "with --native, keep CPython's own call-dispatch frames")(
      "subprocesses", "also every descendant that runs Python, each with its own GIL figures")(
      "nonblocking", "read without pausing the target (cheaper for it, less consistent)")(
      "by-thread",
      "a row per thread at start (default: threads named alike but for counters, 3 or more, "
      "share a row; g toggles)")(
      "plain", "print a plain-text screen every interval instead (for pipes and logs)");
  po::variables_map values;
  try {
    po::store(po::command_line_parser(own).options(described).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    return OptionSyntaxError(error.what(), "top");
  }
  if (values.count("help")) {
    std::ostringstream text;
    text << kUsageLine << described;
    return ShowHelp{text.str()};
  }
  std::variant<pid_t, UsageError> target = ParseTarget(
      values.count("pid") ? std::optional(values["pid"].as<std::string>()) : std::nullopt,
      options.command, dashes != args.end(), "top");
  if (auto* error = std::get_if<UsageError>(&target)) return *error;
  options.pid = std::get<pid_t>(target);
  const std::string rate = values["rate"].as<std::string>();
  if (!absl::SimpleAtoi(rate, &options.rate_hz) || options.rate_hz < 1 ||
      options.rate_hz > kMaxTopRateHz) {
    return UsageError{absl::StrCat("--rate takes a whole number of samples per second from 1 to ",
                                   kMaxTopRateHz, ", not '", rate, "'")};
  }
  const std::string interval = values["interval"].as<std::string>();
  std::optional<absl::Duration> parsed = ParseSeconds(interval, 60);
  if (!parsed || *parsed < absl::Milliseconds(100)) {
    return UsageError{
        absl::StrCat("--interval takes a number of seconds from 0.1 to 60, not '", interval, "'")};
  }
  options.interval = *parsed;
  const std::string window = values["window"].as<std::string>();
  parsed = ParseSeconds(window, 600);
  if (!parsed || *parsed < absl::Seconds(1)) {
    return UsageError{
        absl::StrCat("--window takes a number of seconds from 1 to 600, not '", window, "'")};
  }
  options.window = *parsed;
  if (values.count("duration")) {
    const std::string text = values["duration"].as<std::string>();
    parsed = ParseSeconds(text, 7 * 24 * 3600.0);
    if (!parsed) {
      return UsageError{
          absl::StrCat("--duration takes a number of seconds above 0, not '", text, "'")};
    }
    options.duration = *parsed;
  }
  const std::string mode = values["mode"].as<std::string>();
  std::optional<ProfileMode> parsed_mode = ParseProfileMode(mode);
  if (!parsed_mode) {
    return UsageError{absl::StrCat("unknown mode '", mode, "' (blame, wait, gil, wall or cpu)")};
  }
  options.mode = *parsed_mode;
  options.nonblocking = values.count("nonblocking") > 0;
  options.native = values.count("native") > 0;
  options.keep_plumbing = values.count("native-all") > 0;
  options.plain = values.count("plain") > 0;
  options.subprocesses = values.count("subprocesses") > 0;
  options.by_thread = values.count("by-thread") > 0;
  if (std::optional<UsageError> error =
          CheckNativeChoice(options.native, options.keep_plumbing, options.nonblocking)) {
    return *error;
  }
  return options;
}

}  // namespace gilscope
