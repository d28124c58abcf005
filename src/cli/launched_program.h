// A program `gilscope record -- COMMAND` started: waiting for its interpreter to come up, and
// ending its life with gilscope's.
#ifndef GILSCOPE_CLI_LAUNCHED_PROGRAM_H_
#define GILSCOPE_CLI_LAUNCHED_PROGRAM_H_

#include "absl/status/statusor.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/child_process.h"

namespace gilscope {

// Polls until the launched program's interpreter can be read. Failures retrying cannot fix
// (FailureMeaning::kFatal) end the wait at once; "not Python" is believed only once the
// program has had time to load its libraries (or exec a real interpreter from a wrapper).
// Errors: the last LocatePython error; FailedPrecondition when the program ended first;
// Cancelled on a stop signal.
absl::StatusOr<PythonTarget> WaitForPython(ChildProcess& child, ProcessMemory& memory);

// A launched program that cannot be recorded was started only to be profiled: it goes.
void KillLaunched(ChildProcess& child);

// Asks the program to end (SIGTERM), then kills it if it has not within the grace period:
// `top -- COMMAND` quit with q, its program watched for as long as it was wanted.
void StopLaunched(ChildProcess& child);

// Waits for the program once the recording is over, passing on a stop signal that the terminal
// did not already deliver to it.
void FinishChild(ChildProcess& child, bool recording_stopped_by_signal);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_LAUNCHED_PROGRAM_H_
