// Placeholder: filled in by the pprof output's change.
#include "gilscope/render/record_output.h"

namespace gilscope {
void WritePprof(const Profile&, const RecordingInfo&, std::ostream&) {}
}  // namespace gilscope
