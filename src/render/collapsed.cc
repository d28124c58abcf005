#include "gilscope/render/record_output.h"

namespace gilscope {

// TODO(issue 3): stub, being written.
void WriteCollapsed(const Profile&, const RecordingInfo&, std::ostream&) {}

}  // namespace gilscope
