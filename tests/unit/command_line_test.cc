// The option checks dump and record share: each bad command line gets the same words from
// both commands, and the shared pieces are checked on their own.
#include "cli/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/dump_options.h"
#include "cli/record_options.h"
#include "cli/top_options.h"

namespace gilscope {
namespace {

using ::testing::HasSubstr;

struct PidCase {
  std::string name;
  std::string text;
  pid_t pid;  // 0: refused
};

TEST(ParsePidTest, AcceptsOnlyPositiveProcessIds) {
  const std::vector<PidCase> cases = {
      {"plain", "1234", 1234}, {"one", "1", 1},
      {"zero", "0", 0},        {"negative", "-5", 0},
      {"word", "abc", 0},      {"trailing junk", "12x", 0},
      {"empty", "", 0},        {"too big", "99999999999", 0},
  };
  for (const PidCase& c : cases) {
    std::variant<pid_t, UsageError> parsed = ParsePid(c.text);
    if (c.pid != 0) {
      ASSERT_TRUE(std::holds_alternative<pid_t>(parsed)) << c.name;
      EXPECT_EQ(std::get<pid_t>(parsed), c.pid) << c.name;
    } else {
      ASSERT_TRUE(std::holds_alternative<UsageError>(parsed)) << c.name;
      EXPECT_EQ(std::get<UsageError>(parsed).message,
                "--pid takes a process id (a positive number), not '" + c.text + "'")
          << c.name;
    }
  }
}

struct NativeCase {
  std::string name;
  bool native, keep_plumbing, nonblocking;
  std::string error;  // empty: accepted
};

TEST(CheckNativeChoiceTest, NativeFlagsGoTogetherAndNeedAPause) {
  const std::string needs_pause =
      "--native needs the target paused (ptrace reads each thread's registers); drop "
      "--nonblocking";
  const std::vector<NativeCase> cases = {
      {"none", false, false, false, ""},
      {"native", true, false, false, ""},
      {"native-all", true, true, false, ""},
      {"nonblocking alone", false, false, true, ""},
      {"native-all without native", false, true, false, "--native-all goes with --native"},
      {"native and nonblocking", true, false, true, needs_pause},
      {"native-all, native and nonblocking", true, true, true, needs_pause},
  };
  for (const NativeCase& c : cases) {
    std::optional<UsageError> error = CheckNativeChoice(c.native, c.keep_plumbing, c.nonblocking);
    EXPECT_EQ(error ? error->message : "", c.error) << c.name;
  }
}

TEST(OptionSyntaxErrorTest, PointsAtTheCommandsHelp) {
  EXPECT_EQ(OptionSyntaxError("unrecognised option '--x'", "dump").message,
            "unrecognised option '--x' (see gilscope dump --help)");
}

std::string DumpError(std::vector<std::string> args) {
  auto parsed = ParseDumpOptions(args);
  auto* error = std::get_if<UsageError>(&parsed);
  return error ? error->message : "";
}

std::string RecordError(std::vector<std::string> args) {
  auto parsed = ParseRecordOptions(args);
  auto* error = std::get_if<UsageError>(&parsed);
  return error ? error->message : "";
}

std::string TopError(std::vector<std::string> args) {
  auto parsed = ParseTopOptions(args);
  auto* error = std::get_if<UsageError>(&parsed);
  return error ? error->message : "";
}

struct SharedCase {
  std::string name;
  std::vector<std::string> args;
  std::string error;
};

TEST(SharedChecksTest, DumpAndRecordRefuseTheSameCommandLinesInTheSameWords) {
  const std::vector<SharedCase> cases = {
      {"pid not a number",
       {"--pid", "abc"},
       "--pid takes a process id (a positive number), not 'abc'"},
      {"pid zero", {"-p", "0"}, "--pid takes a process id (a positive number), not '0'"},
      {"native-all alone", {"--pid", "1", "--native-all"}, "--native-all goes with --native"},
      {"native nonblocking",
       {"--pid", "1", "--native", "--nonblocking"},
       "--native needs the target paused (ptrace reads each thread's registers); drop "
       "--nonblocking"},
  };
  for (const SharedCase& c : cases) {
    EXPECT_EQ(DumpError(c.args), c.error) << c.name;
    EXPECT_EQ(RecordError(c.args), c.error) << c.name;
    EXPECT_EQ(TopError(c.args), c.error) << c.name;
  }
  EXPECT_THAT(TopError({"--bogus"}), HasSubstr("(see gilscope top --help)"));
  EXPECT_THAT(DumpError({"--bogus"}), HasSubstr("(see gilscope dump --help)"));
  EXPECT_THAT(RecordError({"--bogus"}), HasSubstr("(see gilscope record --help)"));
}

TEST(TopOptionsTest, ReadsEveryFlagAndChecksRanges) {
  auto parsed = ParseTopOptions({"--pid", "42", "-r", "250", "--interval", "0.5", "--window", "30",
                                 "-d", "5", "--mode", "wait", "--plain"});
  const TopOptions* options = std::get_if<TopOptions>(&parsed);
  ASSERT_NE(options, nullptr);
  EXPECT_EQ(options->pid, 42);
  EXPECT_EQ(options->rate_hz, 250);
  EXPECT_EQ(options->interval, absl::Milliseconds(500));
  EXPECT_EQ(options->window, absl::Seconds(30));
  EXPECT_EQ(options->duration, absl::Seconds(5));
  EXPECT_EQ(options->mode, ProfileMode::kWait);
  EXPECT_TRUE(options->plain);
  parsed = ParseTopOptions({"--", "python3", "app.py"});
  ASSERT_NE(std::get_if<TopOptions>(&parsed), nullptr);
  EXPECT_EQ(std::get<TopOptions>(parsed).command.size(), 2u);
  EXPECT_EQ(std::get<TopOptions>(parsed).window, absl::Seconds(10));  // the defaults
  EXPECT_EQ(std::get<TopOptions>(parsed).interval, absl::Seconds(1));

  EXPECT_EQ(TopError({}), "top needs --pid PID or -- COMMAND (see gilscope top --help)");
  EXPECT_EQ(TopError({"--pid", "1", "-r", "10001"}),
            "--rate takes a whole number of samples per second from 1 to 10000, not '10001'");
  EXPECT_EQ(TopError({"--pid", "1", "--interval", "0.05"}),
            "--interval takes a number of seconds from 0.1 to 60, not '0.05'");
  EXPECT_EQ(TopError({"--pid", "1", "--window", "0.5"}),
            "--window takes a number of seconds from 1 to 600, not '0.5'");
  EXPECT_EQ(TopError({"--pid", "1", "--mode", "fast"}),
            "unknown mode 'fast' (blame, wait, gil, wall or cpu)");
}

TEST(DumpOptionsTest, ReadsEveryFlag) {
  auto parsed = ParseDumpOptions({"--pid", "42", "--json", "--native", "--native-all"});
  ASSERT_TRUE(std::holds_alternative<DumpOptions>(parsed));
  const DumpOptions& options = std::get<DumpOptions>(parsed);
  EXPECT_EQ(options.pid, 42);
  EXPECT_TRUE(options.json);
  EXPECT_TRUE(options.pause);
  EXPECT_TRUE(options.native);
  EXPECT_TRUE(options.keep_plumbing);
  EXPECT_EQ(DumpError({"--json"}), "dump needs --pid PID");
  auto help = ParseDumpOptions({"--help"});
  ASSERT_TRUE(std::holds_alternative<ShowHelp>(help));
  EXPECT_THAT(std::get<ShowHelp>(help).text, HasSubstr("Usage: gilscope dump --pid PID"));
}

TEST(RecordOptionsTest, BaselineIsAQuarterSecondByDefaultAndZeroTurnsItOff) {
  auto parsed = ParseRecordOptions({"--pid", "42"});
  ASSERT_TRUE(std::holds_alternative<RecordOptions>(parsed));
  EXPECT_EQ(std::get<RecordOptions>(parsed).baseline, absl::Milliseconds(250));
  parsed = ParseRecordOptions({"--pid", "42", "--baseline", "0"});
  ASSERT_TRUE(std::holds_alternative<RecordOptions>(parsed));
  EXPECT_EQ(std::get<RecordOptions>(parsed).baseline, absl::ZeroDuration());
  for (const char* bad : {"-1", "nan", "61", "x"}) {
    EXPECT_EQ(RecordError({"--pid", "1", "--baseline", bad}),
              absl::StrCat("--baseline takes a number of seconds from 0 to 60, not '", bad, "'"));
  }
}

}  // namespace
}  // namespace gilscope
