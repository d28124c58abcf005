// The one way walkers see a target's memory: live process, fake image in tests, fuzz input.
#ifndef GILSCOPE_MEMORY_REMOTE_MEMORY_H_
#define GILSCOPE_MEMORY_REMOTE_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace gilscope {

using RemoteAddress = uint64_t;

// One read of a batch: where, into what, and whether it succeeded.
struct ReadRequest {
  RemoteAddress address = 0;
  void* out = nullptr;
  size_t size = 0;
  bool ok = false;  // set by ReadMany
};

class RemoteMemory {
 public:
  virtual ~RemoteMemory() = default;

  // Copies exactly `size` bytes at `address` into `out`. A partial read is an error.
  virtual absl::Status Read(RemoteAddress address, void* out, size_t size) = 0;

  // Reads every request it can, setting each one's `ok`; a request that fails does not stop
  // the others. No error details: read a failed request again with Read() for those. The
  // default reads one at a time; a live process reads many in one system call.
  virtual void ReadMany(absl::Span<ReadRequest> requests) {
    for (ReadRequest& request : requests) {
      request.ok = Read(request.address, request.out, request.size).ok();
    }
  }
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
