#include "gilscope/memory/process_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
  return absl::DataLossError(absl::StrFormat("cannot read %u bytes at 0x%x in process %d: %s", size,
                                             address, pid, std::strerror(error)));
}

}  // namespace

absl::Status ProcessMemory::Read(RemoteAddress address, void* out, size_t size) {
  if (size == 0) return absl::OkStatus();
  if (address < kLowestValidAddress) {
    return absl::DataLossError(
        absl::StrFormat("read of %u bytes at invalid address 0x%x", size, address));
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

void ProcessMemory::ReadMany(absl::Span<ReadRequest> requests) {
  size_t next = 0;
  while (next < requests.size()) {
    if (use_proc_mem_) {
      RemoteMemory::ReadMany(requests.subspan(next));
      return;
    }
    // One call for the longest run of valid requests, up to IOV_MAX of them.
    local_.clear();
    remote_.clear();
    size_t end = next;
    while (end < requests.size() && local_.size() < IOV_MAX) {
      ReadRequest& request = requests[end];
      if (request.address < kLowestValidAddress && request.size > 0) break;
      local_.push_back({request.out, request.size});
      remote_.push_back({reinterpret_cast<void*>(request.address), request.size});
      ++end;
    }
    if (end == next) {  // an invalid address: fails alone, as Read() would
      requests[next++].ok = false;
      continue;
    }
    const ssize_t got =
        ::process_vm_readv(pid_, local_.data(), local_.size(), remote_.data(), remote_.size(), 0);
    if (got < 0 && errno == ESRCH) {  // the process is gone
      for (; next < requests.size(); ++next) requests[next].ok = false;
      return;
    }
    if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
      // Unusable here: Read() falls back to /proc/PID/mem, one request at a time.
      RemoteMemory::ReadMany(requests.subspan(next));
      return;
    }
    // The kernel copies the remote ranges in order and stops at the first it cannot read
    // (mm/process_vm_access.c): those before it are whole, it failed, those after it are
    // not tried yet.
    size_t left = got < 0 ? 0 : static_cast<size_t>(got);
    while (next < end && left >= requests[next].size) {
      left -= requests[next].size;
      requests[next++].ok = true;
    }
    if (next < end) requests[next++].ok = false;
  }
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
