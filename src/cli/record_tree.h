// gilscope record --subprocesses: the target and every descendant that runs Python, each
// sampled with its own session and Profile on one shared schedule.
#ifndef GILSCOPE_CLI_RECORD_TREE_H_
#define GILSCOPE_CLI_RECORD_TREE_H_

#include "cli/record_options.h"

namespace gilscope {

// Runs the whole recording (options.subprocesses); returns the exit code.
int RunTreeRecording(const RecordOptions& options);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_RECORD_TREE_H_
