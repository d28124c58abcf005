// CPython 3.13+ publishes the offsets of its own structs at the start of _PyRuntime
// (_Py_DebugOffsets: cookie "xdebugpy", PY_VERSION_HEX, free-threaded flag, then tables of
// u64 offsets and sizes whose set grows with each minor version). gilscope reads them from the
// target and takes every offset they cover from there; the per-version tables of
// python_layouts.cc give the rest and serve as the base.
#ifndef GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
#define GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"

namespace gilscope {

// Bytes of _PyRuntime that hold the table of any version gilscope knows.
inline constexpr size_t kDebugOffsetsReadSize = 1024;

struct DebugOffsetsHeader {
  uint32_t version_hex = 0;  // PY_VERSION_HEX of the version that published the table
  bool free_threaded = false;
};

// CPython 3.13+ starts _PyRuntime with _Py_DebugOffsets.
constexpr bool PublishesDebugOffsets(int major, int minor) {
  return major > 3 || (major == 3 && minor >= 13);
}

// Checks the cookie; InvalidArgument when `runtime_bytes` does not start with a table.
absl::StatusOr<DebugOffsetsHeader> ReadDebugOffsetsHeader(absl::string_view runtime_bytes);

// `base` with every field the table covers replaced by the published offset. The table is read
// in the format of its own minor version, or of the newest gilscope knows when `base.untested`
// (a version newer than any table). The format is not append-only (3.14 and 3.15 inserted slots
// in the middle), so that newest-format reading is a guess, accepted only when slots whose
// values every known table shares still match. FailedPrecondition, naming the slot, when the
// table is not for base's version and build, is from a pre-release or a minor older than 3.13,
// is cut short, or an offset or size does not make sense.
absl::StatusOr<PythonLayout> ApplyDebugOffsets(absl::string_view runtime_bytes,
                                               const PythonLayout& base);

}  // namespace gilscope

#endif  // GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
