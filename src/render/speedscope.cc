#include "gilscope/render/record_output.h"

namespace gilscope {

// TODO(issue 3): stub, being written.
void WriteSpeedscope(const Profile&, const RecordingInfo&, std::ostream&) {}

}  // namespace gilscope
