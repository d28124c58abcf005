// Reader of CPython's published _Py_DebugOffsets (3.13+): the struct offsets a version keeps at
// the start of _PyRuntime for out-of-process tools. (API placeholder; the reader is being written.)
#ifndef GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
#define GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"

namespace gilscope {

// Bytes of _PyRuntime that cover the table of any known version.
inline constexpr size_t kDebugOffsetsReadSize = 2048;

struct DebugOffsetsHeader {
  uint32_t version_hex = 0;
  bool free_threaded = false;
};

// Checks the cookie and reads the version and build kind.
absl::StatusOr<DebugOffsetsHeader> ReadDebugOffsetsHeader(absl::string_view runtime_bytes);

// `base` with every field the published table covers replaced by the published offset.
absl::StatusOr<PythonLayout> ApplyDebugOffsets(absl::string_view runtime_bytes, const PythonLayout& base);

}  // namespace gilscope

#endif  // GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
