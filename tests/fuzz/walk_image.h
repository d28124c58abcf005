// What the walkers fuzz target does with one input, callable without libFuzzer: the seed maker
// checks that its seeds walk all the way through.
#ifndef GILSCOPE_TESTS_FUZZ_WALK_IMAGE_H_
#define GILSCOPE_TESTS_FUZZ_WALK_IMAGE_H_

#include <cstddef>
#include <cstdint>

namespace gilscope::fuzz {

// What the last of the two samples found.
struct WalkStats {
  bool located = false;  // LocatePython found the runtime
  bool debug_offsets_applied = false;
  size_t interpreters = 0;
  size_t threads = 0;
  size_t frames = 0;  // in stacks that were read whole
  size_t names = 0;   // threads with a Python name
  size_t gil_holders = 0;
};

// Parses `data` as a FuzzImage, locates the runtime in the process it describes and takes two
// snapshots of it, as the fuzzer does.
WalkStats WalkImage(const uint8_t* data, size_t size);

}  // namespace gilscope::fuzz

#endif  // GILSCOPE_TESTS_FUZZ_WALK_IMAGE_H_
