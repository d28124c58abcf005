// gilscope record --subprocesses: the target and every descendant that runs Python, each
// sampled with its own session and Profile on one shared schedule.
#ifndef GILSCOPE_CLI_RECORD_TREE_H_
#define GILSCOPE_CLI_RECORD_TREE_H_

#include <string>

#include "cli/record_options.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/render/record_output.h"

namespace gilscope {

// The chosen output format of `profile`, as record writes it.
std::string RenderProfile(OutputFormat format, const Profile& profile, const RecordingInfo& info);

// Runs the whole recording (options.subprocesses); returns the exit code.
int RunTreeRecording(const RecordOptions& options);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_RECORD_TREE_H_
