// Reads str/bytes objects out of a target. Every length is capped: names come from a process
// we do not trust.
#ifndef GILSCOPE_WALKERS_PYTHON_STRINGS_H_
#define GILSCOPE_WALKERS_PYTHON_STRINGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

// Longest text kept from a name; longer ones are cut and marked with "...".
inline constexpr size_t kMaxNameBytes = 1024;
// Largest bytes object read whole (line tables).
inline constexpr size_t kMaxBytesObject = 1 << 20;

// A Python 3 str (or a 2.7 str) as UTF-8. Non-compact strings are an error: code object names
// are always compact. Invalid code points are replaced with U+FFFD.
absl::StatusOr<std::string> ReadPythonText(RemoteMemory& memory, const PythonLayout& layout,
                                           RemoteAddress address);

// The raw contents of a bytes object (a 2.7 str). Fails above `max_size`.
absl::StatusOr<std::string> ReadPythonBytes(RemoteMemory& memory, const PythonLayout& layout,
                                            RemoteAddress address,
                                            size_t max_size = kMaxBytesObject);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_PYTHON_STRINGS_H_
