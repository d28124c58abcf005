// What a failed read of the target means for whoever asked: the one table every caller (the
// sampling loop, record, dump, launch mode, the snapshot) consults instead of testing status
// codes itself. Like austin's table of transient and fatal errors, kept in one place so that
// "the target exited" and "try again" are decided the same way everywhere.
#ifndef GILSCOPE_SAMPLER_FAILURE_POLICY_H_
#define GILSCOPE_SAMPLER_FAILURE_POLICY_H_

#include "absl/status/status.h"

namespace gilscope {

enum class FailureMeaning {
  kTargetExited,    // the process is gone (or a zombie): the end of a recording, not an error
  kTargetReplaced,  // the process exec'd another program: same pid, no Python target any more
  kNotPython,       // no CPython runtime in the process (a launched wrapper may exec one soon)
  kTransient,       // may pass on another try: threads starting or ending, a torn read
  kFatal,           // retrying cannot help: no permission, an unsupported version, a stop request
};

// "target exited", "target replaced", "not python", "transient", "fatal".
const char* FailureMeaningName(FailureMeaning meaning);

// What the caller knows about the target beyond the status (a launched child's exit, seen by
// waitpid; an exec, seen by ExecWatch). Either outweighs what the status says.
struct TargetChange {
  bool exited = false;
  bool replaced = false;
};

// By code, following the contracts of the layers below (locate/python_target.h, proc, memory):
// NotFound -> kTargetExited; InvalidArgument -> kNotPython; PermissionDenied, Unimplemented,
// Cancelled -> kFatal; every other code -> kTransient. An OK status is no failure: kTransient.
FailureMeaning Classify(const absl::Status& status);

// The same, with what the caller saw: an exit wins over everything, then an exec, unless the
// status itself already says the process is gone.
FailureMeaning Classify(const absl::Status& status, const TargetChange& change);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_FAILURE_POLICY_H_
