// The input the walkers fuzzer reads: which layout to use, where the walkers start, and a
// memory image as regions of bytes at addresses. Seeds are written in the same format from
// FakeCPython images, so the fuzzer starts from well-formed targets of every version.
#ifndef GILSCOPE_TESTS_FUZZ_FUZZ_IMAGE_H_
#define GILSCOPE_TESTS_FUZZ_FUZZ_IMAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gilscope/memory/remote_memory.h"
#include "gilscope/walkers/gil_reader.h"

namespace gilscope::fuzz {

// More regions, or larger ones, than a walker could use are cut off, to keep runs fast.
inline constexpr size_t kMaxRegions = 64;
inline constexpr size_t kMaxRegionBytes = 1 << 20;

struct Region {
  RemoteAddress address = 0;
  std::string bytes;
};

struct FuzzImage {
  uint8_t layout_index = 0;  // into AllLayouts(), modulo its size
  RemoteAddress interpreters_head = 0;
  RemoteAddress code_type = 0;
  GilLocation gil;
  std::vector<pid_t> live_tids;  // up to 8
  std::vector<Region> regions;
};

// Layout (little-endian): u8 layout index, u64 interpreters head, u64 code type, 10 x u64
// GilLocation fields, u8 tid count then that many u32 tids, then regions, each u64 address,
// u32 size, bytes. Returns nothing when the fixed part is cut short; a cut-short region ends
// the list with what it has.
std::optional<FuzzImage> ParseFuzzImage(const uint8_t* data, size_t size);
std::string SerializeFuzzImage(const FuzzImage& image);

}  // namespace gilscope::fuzz

#endif  // GILSCOPE_TESTS_FUZZ_FUZZ_IMAGE_H_
