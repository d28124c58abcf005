// An in-process memory image for tests and fuzzing: regions of bytes at chosen addresses.
#ifndef GILSCOPE_TESTS_SUPPORT_FAKE_MEMORY_H_
#define GILSCOPE_TESTS_SUPPORT_FAKE_MEMORY_H_

#include <map>
#include <string>
#include <vector>

#include "gilscope/memory/remote_memory.h"

namespace gilscope::testing {

class FakeMemory : public RemoteMemory {
 public:
  // Maps `bytes` at `address`. Regions must not overlap.
  void Map(RemoteAddress address, std::vector<uint8_t> bytes) {
    regions_[address] = std::move(bytes);
  }
  // Maps `size` zero bytes and returns a pointer to write them.
  uint8_t* MapZeroed(RemoteAddress address, size_t size) {
    auto& region = regions_[address];
    region.assign(size, 0);
    return region.data();
  }
  template <typename T>
  void Put(RemoteAddress address, const T& value) {
    auto [base, region] = Locate(address, sizeof(T));
    std::memcpy(region->data() + (address - base), &value, sizeof(T));
  }
  void PutBytes(RemoteAddress address, const void* data, size_t size) {
    auto [base, region] = Locate(address, size);
    std::memcpy(region->data() + (address - base), data, size);
  }

  absl::Status Read(RemoteAddress address, void* out, size_t size) override {
    ++reads_;
    auto it = regions_.upper_bound(address);
    if (it != regions_.begin()) {
      --it;
      const RemoteAddress base = it->first;
      const auto& bytes = it->second;
      if (address >= base && size <= bytes.size() && address - base <= bytes.size() - size) {
        std::memcpy(out, bytes.data() + (address - base), size);
        return absl::OkStatus();
      }
    }
    return absl::DataLossError("fake memory: unmapped read");
  }

  size_t reads() const { return reads_; }
  // Every mapped region by address, for tools that save an image (fuzz seeds).
  const std::map<RemoteAddress, std::vector<uint8_t>>& regions() const { return regions_; }

 private:
  std::pair<RemoteAddress, std::vector<uint8_t>*> Locate(RemoteAddress address, size_t size) {
    auto it = regions_.upper_bound(address);
    if (it == regions_.begin()) std::abort();  // test bug: writing outside any region
    --it;
    if (address - it->first + size > it->second.size()) std::abort();
    return {it->first, &it->second};
  }

  std::map<RemoteAddress, std::vector<uint8_t>> regions_;
  size_t reads_ = 0;
};

}  // namespace gilscope::testing

#endif  // GILSCOPE_TESTS_SUPPORT_FAKE_MEMORY_H_
