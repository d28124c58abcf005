#include "gilscope/elf/xz_decompress.h"

#include <lzma.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gilscope {
namespace {

// The decoder's own memory (mostly the dictionary): xz -9 needs 65 MiB, MiniDebugInfo is
// written with far less. A stream asking for more is refused rather than allocated.
constexpr uint64_t kDecoderMemoryLimit = uint64_t{128} << 20;
constexpr size_t kFirstChunk = size_t{64} << 10;

struct StreamHandle {
  lzma_stream stream = LZMA_STREAM_INIT;
  ~StreamHandle() { lzma_end(&stream); }
};

}  // namespace

absl::StatusOr<std::string> DecompressXz(absl::string_view compressed, uint64_t max_size) {
  StreamHandle handle;
  lzma_stream& stream = handle.stream;
  if (lzma_stream_decoder(&stream, kDecoderMemoryLimit, 0) != LZMA_OK) {
    return absl::InternalError("liblzma cannot start a decoder");
  }
  stream.next_in = reinterpret_cast<const uint8_t*>(compressed.data());
  stream.avail_in = compressed.size();
  // Grown by doubling up to the cap, so a small section never costs the cap's memory.
  std::string out;
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_size) {
        return absl::ResourceExhaustedError(
            absl::StrCat("xz data decompresses to more than ", max_size, " bytes"));
      }
      out.resize(std::min<uint64_t>(max_size, std::max(out.size() * 2, kFirstChunk)));
    }
    stream.next_out = reinterpret_cast<uint8_t*>(out.data()) + produced;
    stream.avail_out = out.size() - produced;
    const lzma_ret result = lzma_code(&stream, LZMA_FINISH);
    produced = out.size() - stream.avail_out;
    if (result == LZMA_STREAM_END) break;
    if (result == LZMA_OK) continue;  // more room wanted; liblzma says BUF_ERROR if stuck
    if (result == LZMA_MEMLIMIT_ERROR || result == LZMA_MEM_ERROR) {
      return absl::ResourceExhaustedError("xz data needs too much memory to decode");
    }
    return absl::InvalidArgumentError(absl::StrCat("corrupt xz data (liblzma error ", result, ")"));
  }
  out.resize(produced);
  return out;
}

}  // namespace gilscope
