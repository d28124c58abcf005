// Decompresses an .xz stream held in memory with liblzma, as .gnu_debugdata ("MiniDebugInfo")
// needs. The input comes from a file the target maps, so it is untrusted: the output is capped
// and anything undecodable is an error, never a crash.
#ifndef GILSCOPE_ELF_XZ_DECOMPRESS_H_
#define GILSCOPE_ELF_XZ_DECOMPRESS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gilscope {

// The bytes of the first .xz stream in `compressed` (anything after it is ignored).
// ResourceExhausted when they would exceed `max_size` bytes, or the decoder would need more than
// a fixed memory budget; InvalidArgument when the stream is corrupt or truncated.
absl::StatusOr<std::string> DecompressXz(absl::string_view compressed, uint64_t max_size);

}  // namespace gilscope

#endif  // GILSCOPE_ELF_XZ_DECOMPRESS_H_
