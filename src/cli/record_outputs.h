// What `gilscope record` writes, in one or many processes: the profile file in the chosen
// format and the JSON summary, opened before sampling (so an unwritable path, or a binary
// format bound for a terminal, is an error up front) and each committed once at the end.
#ifndef GILSCOPE_CLI_RECORD_OUTPUTS_H_
#define GILSCOPE_CLI_RECORD_OUTPUTS_H_

#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
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
  // Writes the profile (saying where, unless to standard output) and, with --summary, the
  // JSON `write_summary` makes; false when either could not be written (the error printed).
  bool Commit(const RecordOptions& options, absl::string_view profile_text,
              absl::FunctionRef<void(std::ostream&)> write_summary);
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_RECORD_OUTPUTS_H_
