#include "cli/record_outputs.h"

#include <unistd.h>

#include <sstream>

namespace gilscope {

std::string RenderProfile(OutputFormat format, const Profile& profile, const RecordingInfo& info) {
  std::ostringstream out;
  switch (format) {
    case OutputFormat::kFlameGraph:
      WriteFlameGraphSvg(profile, info, out);
      break;
    case OutputFormat::kCollapsed:
      WriteCollapsed(profile, info, out);
      break;
    case OutputFormat::kSpeedscope:
      WriteSpeedscope(profile, info, out);
      break;
    case OutputFormat::kPprof:
      WritePprof(profile, info, out);
      break;
    case OutputFormat::kPerfetto:
      WritePerfettoTrace(profile, info, out);
      break;
  }
  return out.str();
}

absl::Status RecordOutputs::Open(const RecordOptions& options) {
  if (options.output == "-" && IsBinaryFormat(options.format) && isatty(STDOUT_FILENO) == 1) {
    return absl::InvalidArgumentError(
        "will not write a binary profile to a terminal: redirect standard output or use -o FILE");
  }
  absl::StatusOr<OutputFile> output = OutputFile::Create(options.output);
  if (!output.ok()) return output.status();
  profile.emplace(*std::move(output));
  if (!options.summary_path.empty()) {
    absl::StatusOr<OutputFile> file = OutputFile::Create(options.summary_path);
    if (!file.ok()) return file.status();
    summary.emplace(*std::move(file));
  }
  return absl::OkStatus();
}

}  // namespace gilscope
