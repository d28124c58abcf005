#include "gilscope/sampler/failure_policy.h"

namespace gilscope {

const char* FailureMeaningName(FailureMeaning meaning) {
  switch (meaning) {
    case FailureMeaning::kTargetExited:
      return "target exited";
    case FailureMeaning::kTargetReplaced:
      return "target replaced";
    case FailureMeaning::kNotPython:
      return "not python";
    case FailureMeaning::kTransient:
      return "transient";
    case FailureMeaning::kFatal:
      return "fatal";
  }
  return "?";
}

FailureMeaning Classify(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:  // no such process, or /proc/PID gone (ESRCH, ENOENT)
      return FailureMeaning::kTargetExited;
    case absl::StatusCode::kInvalidArgument:  // LocatePython: no CPython runtime mapped
      return FailureMeaning::kNotPython;
    case absl::StatusCode::kPermissionDenied:  // ptrace or /proc refused: Yama, another uid
    case absl::StatusCode::kUnimplemented:     // a version gilscope has no table for
    case absl::StatusCode::kCancelled:         // the user asked to stop
      return FailureMeaning::kFatal;
    default:
      // Torn reads (DataLoss), a thread list that moved (Unavailable), an interpreter not
      // started yet or a pause that timed out: a later attempt may see a settled target.
      return FailureMeaning::kTransient;
  }
}

FailureMeaning Classify(const absl::Status& status, const TargetChange& change) {
  if (change.exited) return FailureMeaning::kTargetExited;
  const FailureMeaning meaning = Classify(status);
  if (meaning != FailureMeaning::kTargetExited && change.replaced) {
    return FailureMeaning::kTargetReplaced;
  }
  return meaning;
}

}  // namespace gilscope
