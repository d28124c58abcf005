#include "cli/dump_options.h"

#include <boost/program_options.hpp>
#include <sstream>

namespace gilscope {
namespace {

namespace po = boost::program_options;

constexpr char kUsageLine[] =
    "Usage: gilscope dump --pid PID [--subprocesses] [--json] [--native [--native-all]]\n"
    "                     [--nonblocking]\n\n"
    "Shows every thread of a running Python process: its Python stack, and whether it\n"
    "holds the GIL, waits for it, runs native code without it, or is idle.\n\n";

}  // namespace

std::variant<DumpOptions, ShowHelp, UsageError> ParseDumpOptions(
    const std::vector<std::string>& args) {
  po::options_description described("gilscope dump options");
  described.add_options()("help,h", "show this help")("pid,p", po::value<std::string>(),
                                                      "process id of the Python program")(
      "json", "print JSON instead of text")(
      "native", "also show native (C/C++) frames, merged with the Python frames")(
      "native-all", "with --native, keep CPython's own call-dispatch frames")(
      "nonblocking", "read without pausing the target (less consistent)")(
      "subprocesses", "also every descendant of PID that runs Python, one after another");
  po::variables_map values;
  try {
    po::store(po::command_line_parser(args).options(described).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    return OptionSyntaxError(error.what(), "dump");
  }
  if (values.count("help")) {
    std::ostringstream text;
    text << kUsageLine << described;
    return ShowHelp{text.str()};
  }
  if (!values.count("pid")) return UsageError{"dump needs --pid PID"};

  DumpOptions options;
  std::variant<pid_t, UsageError> pid = ParsePid(values["pid"].as<std::string>());
  if (auto* error = std::get_if<UsageError>(&pid)) return *error;
  options.pid = std::get<pid_t>(pid);
  options.json = values.count("json") > 0;
  options.pause = !values.count("nonblocking");
  options.native = values.count("native") > 0;
  options.keep_plumbing = values.count("native-all") > 0;
  options.subprocesses = values.count("subprocesses") > 0;
  if (std::optional<UsageError> error =
          CheckNativeChoice(options.native, options.keep_plumbing, !options.pause)) {
    return *error;
  }
  return options;
}

}  // namespace gilscope
