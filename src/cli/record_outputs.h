// What `gilscope record` writes, in one or many processes: the profile file in the chosen
// format and the JSON summary, opened before sampling (so an unwritable path, or a binary
// format bound for a terminal, is an error up front) and each committed once at the end.
#ifndef GILSCOPE_CLI_RECORD_OUTPUTS_H_
#define GILSCOPE_CLI_RECORD_OUTPUTS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "cli/output_file.h"
#include "cli/record_options.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/render/record_output.h"

namespace gilscope {

// The chosen output format of `profile`, as record writes it.
std::string RenderProfile(OutputFormat format, const Profile& profile, const RecordingInfo& info);

struct RecordOutputs {
  std::optional<OutputFile> profile;
  std::optional<OutputFile> summary;  // with --summary

  absl::Status Open(const RecordOptions& options);
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_RECORD_OUTPUTS_H_
