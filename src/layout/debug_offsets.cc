#include "gilscope/layout/debug_offsets.h"

#include <cstring>

// Placeholder until the reader lands: reads the header, applies nothing.
namespace gilscope {

absl::StatusOr<DebugOffsetsHeader> ReadDebugOffsetsHeader(absl::string_view bytes) {
  if (bytes.size() < 24 || bytes.substr(0, 8) != "xdebugpy") {
    return absl::InvalidArgumentError("no \"xdebugpy\" cookie");
  }
  uint64_t version = 0, free_threaded = 0;
  std::memcpy(&version, bytes.data() + 8, 8);
  std::memcpy(&free_threaded, bytes.data() + 16, 8);
  return DebugOffsetsHeader{static_cast<uint32_t>(version), free_threaded != 0};
}

absl::StatusOr<PythonLayout> ApplyDebugOffsets(absl::string_view, const PythonLayout& base) {
  return base;
}

}  // namespace gilscope
