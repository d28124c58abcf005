// The one way walkers see a target's memory: live process, fake image in tests, fuzz input.
#ifndef GILSCOPE_MEMORY_REMOTE_MEMORY_H_
#define GILSCOPE_MEMORY_REMOTE_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gilscope {

using RemoteAddress = uint64_t;

class RemoteMemory {
 public:
  virtual ~RemoteMemory() = default;

  // Copies exactly `size` bytes at `address` into `out`. A partial read is an error.
  virtual absl::Status Read(RemoteAddress address, void* out, size_t size) = 0;
};

// Addresses in the first page are never valid objects; reject them before reading.
inline constexpr RemoteAddress kLowestValidAddress = 0x1000;

template <typename T>
absl::StatusOr<T> ReadValue(RemoteMemory& memory, RemoteAddress address) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  absl::Status status = memory.Read(address, &value, sizeof(T));
  if (!status.ok()) return status;
  return value;
}

// Loads a T from a byte buffer at `offset`; the caller guarantees offset + sizeof(T) fits.
template <typename T>
T LoadAt(const void* buffer, size_t offset) {
  T value;
  std::memcpy(&value, static_cast<const char*>(buffer) + offset, sizeof(T));
  return value;
}

}  // namespace gilscope

#endif  // GILSCOPE_MEMORY_REMOTE_MEMORY_H_
