#include "gilscope/memory/process_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>

#include <string>

#include "absl/strings/str_format.h"

namespace gilscope {
namespace {

absl::Status ReadError(pid_t pid, RemoteAddress address, size_t size, int error) {
  if (error == ESRCH) return absl::NotFoundError(absl::StrFormat("process %d has exited", pid));
  if (error == EPERM || error == EACCES) {
    return absl::PermissionDeniedError(
        absl::StrFormat("no permission to read the memory of process %d", pid));
  }
  return absl::DataLossError(absl::StrFormat("cannot read %u bytes at 0x%x in process %d: %s",
                                             size, address, pid, std::strerror(error)));
}

}  // namespace

absl::Status ProcessMemory::Read(RemoteAddress address, void* out, size_t size) {
  if (size == 0) return absl::OkStatus();
  if (address < kLowestValidAddress) {
    return absl::DataLossError(absl::StrFormat("read of %u bytes at invalid address 0x%x", size,
                                               address));
  }
  if (use_proc_mem_) return ReadThroughProcMem(address, out, size);
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  ssize_t got = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (got == static_cast<ssize_t>(size)) return absl::OkStatus();
  if (got >= 0) return ReadError(pid_, address, size, EFAULT);
  if (errno == ENOSYS || errno == EPERM) {
    // Some sandboxes forbid process_vm_readv but allow /proc/PID/mem.
    absl::Status status = ReadThroughProcMem(address, out, size);
    if (status.ok()) use_proc_mem_ = true;
    return status;
  }
  return ReadError(pid_, address, size, errno);
}

absl::Status ProcessMemory::ReadThroughProcMem(RemoteAddress address, void* out, size_t size) {
  if (!proc_mem_.valid()) {
    std::string path = absl::StrFormat("/proc/%d/mem", pid_);
    proc_mem_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!proc_mem_.valid()) return ReadError(pid_, address, size, errno);
  }
  ssize_t got = ::pread(proc_mem_.get(), out, size, static_cast<off_t>(address));
  if (got == static_cast<ssize_t>(size)) return absl::OkStatus();
  return ReadError(pid_, address, size, got < 0 ? errno : EFAULT);
}

}  // namespace gilscope
