// Placeholder: filled in by the perfetto_trace output's change.
#include "gilscope/render/record_output.h"

namespace gilscope {
void WritePerfettoTrace(const Profile&, const RecordingInfo&, std::ostream&) {}
}  // namespace gilscope
