// The one error table: every status code's meaning, and what the caller's own knowledge of the
// target (a child's exit, an exec) changes.
#include "gilscope/sampler/failure_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gilscope {
namespace {

struct CodeCase {
  absl::StatusCode code;
  FailureMeaning meaning;
};

// Every canonical code (absl/status/status.h), so a new use of one is a conscious choice.
const std::vector<CodeCase>& CodeTable() {
  static const std::vector<CodeCase> table = {
      {absl::StatusCode::kOk, FailureMeaning::kTransient},
      {absl::StatusCode::kCancelled, FailureMeaning::kFatal},
      {absl::StatusCode::kUnknown, FailureMeaning::kTransient},
      {absl::StatusCode::kInvalidArgument, FailureMeaning::kNotPython},
      {absl::StatusCode::kDeadlineExceeded, FailureMeaning::kTransient},
      {absl::StatusCode::kNotFound, FailureMeaning::kTargetExited},
      {absl::StatusCode::kAlreadyExists, FailureMeaning::kTransient},
      {absl::StatusCode::kPermissionDenied, FailureMeaning::kFatal},
      {absl::StatusCode::kResourceExhausted, FailureMeaning::kTransient},
      {absl::StatusCode::kFailedPrecondition, FailureMeaning::kTransient},
      {absl::StatusCode::kAborted, FailureMeaning::kTransient},
      {absl::StatusCode::kOutOfRange, FailureMeaning::kTransient},
      {absl::StatusCode::kUnimplemented, FailureMeaning::kFatal},
      {absl::StatusCode::kInternal, FailureMeaning::kTransient},
      {absl::StatusCode::kUnavailable, FailureMeaning::kTransient},
      {absl::StatusCode::kDataLoss, FailureMeaning::kTransient},
      {absl::StatusCode::kUnauthenticated, FailureMeaning::kTransient},
  };
  return table;
}

TEST(FailurePolicyTest, EveryStatusCodeHasItsMeaning) {
  for (const CodeCase& c : CodeTable()) {
    const absl::Status status(c.code, "message");
    EXPECT_EQ(Classify(status), c.meaning)
        << absl::StatusCodeToString(c.code) << " reads as " << FailureMeaningName(Classify(status))
        << ", expected " << FailureMeaningName(c.meaning);
  }
}

TEST(FailurePolicyTest, TableCoversEveryCanonicalCode) {
  // kUnauthenticated (16) is the highest canonical code.
  EXPECT_EQ(CodeTable().size(), static_cast<size_t>(absl::StatusCode::kUnauthenticated) + 1);
}

TEST(FailurePolicyTest, NothingChangedKeepsTheCodesMeaning) {
  for (const CodeCase& c : CodeTable()) {
    if (c.code == absl::StatusCode::kOk) continue;
    EXPECT_EQ(Classify(absl::Status(c.code, "m"), TargetChange{}), c.meaning)
        << absl::StatusCodeToString(c.code);
  }
}

TEST(FailurePolicyTest, AnExitSeenByTheCallerWinsOverEveryCode) {
  for (const CodeCase& c : CodeTable()) {
    if (c.code == absl::StatusCode::kOk) continue;
    EXPECT_EQ(Classify(absl::Status(c.code, "m"), TargetChange{true, false}),
              FailureMeaning::kTargetExited)
        << absl::StatusCodeToString(c.code);
    EXPECT_EQ(Classify(absl::Status(c.code, "m"), TargetChange{true, true}),
              FailureMeaning::kTargetExited)
        << absl::StatusCodeToString(c.code);
  }
}

TEST(FailurePolicyTest, AnExecMakesEveryFailureButAnExitAReplacement) {
  for (const CodeCase& c : CodeTable()) {
    if (c.code == absl::StatusCode::kOk) continue;
    const FailureMeaning expected = c.code == absl::StatusCode::kNotFound
                                        ? FailureMeaning::kTargetExited
                                        : FailureMeaning::kTargetReplaced;
    EXPECT_EQ(Classify(absl::Status(c.code, "m"), TargetChange{false, true}), expected)
        << absl::StatusCodeToString(c.code);
  }
}

TEST(FailurePolicyTest, MeaningsHaveNames) {
  EXPECT_EQ(std::string(FailureMeaningName(FailureMeaning::kTargetExited)), "target exited");
  EXPECT_EQ(std::string(FailureMeaningName(FailureMeaning::kTargetReplaced)), "target replaced");
  EXPECT_EQ(std::string(FailureMeaningName(FailureMeaning::kNotPython)), "not python");
  EXPECT_EQ(std::string(FailureMeaningName(FailureMeaning::kTransient)), "transient");
  EXPECT_EQ(std::string(FailureMeaningName(FailureMeaning::kFatal)), "fatal");
}

}  // namespace
}  // namespace gilscope
