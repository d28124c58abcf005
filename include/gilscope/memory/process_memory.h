// Reads a live process's memory: process_vm_readv, falling back to /proc/PID/mem.
#ifndef GILSCOPE_MEMORY_PROCESS_MEMORY_H_
#define GILSCOPE_MEMORY_PROCESS_MEMORY_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <vector>

#include "gilscope/base/unique_fd.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

class ProcessMemory : public RemoteMemory {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}

  absl::Status Read(RemoteAddress address, void* out, size_t size) override;
  // As many requests per process_vm_readv call as the kernel takes (IOV_MAX).
  void ReadMany(absl::Span<ReadRequest> requests) override;

 private:
  absl::Status ReadThroughProcMem(RemoteAddress address, void* out, size_t size);

  pid_t pid_;
  bool use_proc_mem_ = false;  // set once process_vm_readv is found unusable
  UniqueFd proc_mem_;
  std::vector<iovec> local_, remote_;  // ReadMany's vectors, kept to avoid reallocating
};

}  // namespace gilscope

#endif  // GILSCOPE_MEMORY_PROCESS_MEMORY_H_
