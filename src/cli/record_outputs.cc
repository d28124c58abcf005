#include "cli/record_outputs.h"

#include <unistd.h>

#include <iostream>
#include <sstream>

#include "cli/command_line.h"
#include "gilscope/render/safe_text.h"

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

bool RecordOutputs::Commit(const RecordOptions& options, absl::string_view profile_text,
                           absl::FunctionRef<void(std::ostream&)> write_summary) {
  bool ok = true;
  if (absl::Status written = profile->Commit(profile_text); !written.ok()) {
    PrintError(std::string(written.message()));
    ok = false;
  } else if (options.output != "-") {
    std::cerr << "gilscope: wrote " << TerminalSafe(options.output) << "\n";
  }
  if (summary) {
    std::ostringstream json;
    write_summary(json);
    if (absl::Status written = summary->Commit(json.str()); !written.ok()) {
      PrintError(std::string(written.message()));
      ok = false;
    }
  }
  return ok;
}

}  // namespace gilscope
