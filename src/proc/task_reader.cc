#include "gilscope/proc/task_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

// Large enough for any /proc/PID/task/TID/stat (52 fields) or syscall line.
constexpr size_t kTaskFileBuffer = 4096;
// Large enough for a few hundred threads' entries per getdents64 call.
constexpr size_t kDirentsBuffer = 32 << 10;

absl::Status FileError(const std::string& path, int error) {
  if (error == ENOENT || error == ESRCH) return absl::NotFoundError(path + " is gone");
  if (error == EACCES || error == EPERM)
    return absl::PermissionDeniedError("no permission to read " + path);
  return absl::UnavailableError(absl::StrFormat("cannot read %s: %s", path, std::strerror(error)));
}

}  // namespace

absl::StatusOr<std::string> ReadOpenFile(int fd) {
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  while (true) {
    ssize_t got = ::pread(fd, buffer, sizeof buffer, offset);
    if (got < 0) {
      if (errno == EINTR) continue;
      return FileError("open /proc file", errno);
    }
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
    if (text.size() > (64u << 20)) return absl::ResourceExhaustedError("/proc file over 64 MiB");
  }
  return text;
}

absl::StatusOr<size_t> ReadSmallOpenFile(int fd, char* buffer, size_t size) {
  while (true) {
    const ssize_t got = ::pread(fd, buffer, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return FileError("open /proc file", errno);
    }
    if (static_cast<size_t>(got) >= size)
      return absl::OutOfRangeError("file larger than the buffer");
    return static_cast<size_t>(got);
  }
}

absl::StatusOr<std::string> ReadProcFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return FileError(path, errno);
  absl::StatusOr<std::string> text = ReadOpenFile(fd.get());
  if (!text.ok()) return FileError(path, errno);
  return text;
}

absl::StatusOr<std::vector<pid_t>> ProcTaskReader::ListThreads() {
  auto path = [&] { return absl::StrFormat("/proc/%d/task", pid_); };
  if (!task_dir_.valid()) {
    task_dir_ = UniqueFd(::open(path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!task_dir_.valid()) return FileError(path(), errno);
    dirents_.resize(kDirentsBuffer);
  } else if (::lseek(task_dir_.get(), 0, SEEK_SET) != 0) {
    return FileError(path(), errno);
  }
  // The kernel lists the threads afresh on every read from the start (fs/proc/base.c,
  // proc_task_readdir); a process that is gone reads as ENOENT.
  std::vector<pid_t> tids;
  while (true) {
    const ssize_t got = ::getdents64(task_dir_.get(), dirents_.data(), dirents_.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return FileError(path(), errno);
    }
    if (got == 0) break;
    for (size_t at = 0; at < static_cast<size_t>(got);) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(dirents_.data() + at);
      pid_t tid = 0;
      if (absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
      if (entry->d_reclen == 0) break;  // never from a sane kernel; do not loop forever
      at += entry->d_reclen;
    }
  }
  std::sort(tids.begin(), tids.end());
  // Forget files of threads that are gone, so a long recording does not pile up descriptors.
  for (auto it = files_.begin(); it != files_.end();) {
    auto next = std::next(it);
    if (!std::binary_search(tids.begin(), tids.end(), it->first)) files_.erase(it);
    it = next;
  }
  return tids;
}

absl::StatusOr<TaskActivity> ProcTaskReader::ReadTask(pid_t tid) {
  TaskFiles& files = files_[tid];
  auto open_file = [&](UniqueFd& fd, const char* name) -> absl::Status {
    if (fd.valid()) return absl::OkStatus();
    std::string path = absl::StrFormat("/proc/%d/task/%d/%s", pid_, tid, name);
    fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd.valid() ? absl::OkStatus() : FileError(path, errno);
  };
  absl::Status status = open_file(files.stat, "stat");
  if (status.ok()) status = open_file(files.syscall, "syscall");
  if (!status.ok()) {
    files_.erase(tid);
    return status;
  }
  // One pread per file into the stack; the slow path only for a file that does not fit.
  char stat_buffer[kTaskFileBuffer];
  char syscall_buffer[kTaskFileBuffer];
  std::string stat_spill, syscall_spill;
  auto read_file = [](int fd, char* buffer,
                      std::string& spill) -> absl::StatusOr<absl::string_view> {
    absl::StatusOr<size_t> got = ReadSmallOpenFile(fd, buffer, kTaskFileBuffer);
    if (got.ok()) return absl::string_view(buffer, *got);
    if (!absl::IsOutOfRange(got.status())) return got.status();
    ASSIGN_OR_RETURN(spill, ReadOpenFile(fd));
    return absl::string_view(spill);
  };
  absl::StatusOr<absl::string_view> stat_text =
      read_file(files.stat.get(), stat_buffer, stat_spill);
  absl::StatusOr<absl::string_view> syscall_text =
      stat_text.ok() ? read_file(files.syscall.get(), syscall_buffer, syscall_spill) : stat_text;
  if (!stat_text.ok() || !syscall_text.ok() || stat_text->empty()) {
    files_.erase(tid);  // an exited thread's files read as errors (ESRCH) or empty
    return absl::NotFoundError(absl::StrFormat("thread %d has exited", tid));
  }
  TaskActivity activity;
  activity.tid = tid;
  ASSIGN_OR_RETURN(activity.stat, ParseStat(*stat_text));
  ASSIGN_OR_RETURN(activity.syscall, ParseSyscall(*syscall_text));
  return activity;
}

}  // namespace gilscope
