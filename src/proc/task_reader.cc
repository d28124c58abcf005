#include "gilscope/proc/task_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

absl::Status FileError(const std::string& path, int error) {
  if (error == ENOENT || error == ESRCH) return absl::NotFoundError(path + " is gone");
  if (error == EACCES || error == EPERM) return absl::PermissionDeniedError("no permission to read " + path);
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

absl::StatusOr<std::string> ReadProcFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return FileError(path, errno);
  absl::StatusOr<std::string> text = ReadOpenFile(fd.get());
  if (!text.ok()) return FileError(path, errno);
  return text;
}

absl::StatusOr<std::vector<pid_t>> ProcTaskReader::ListThreads() {
  std::string path = absl::StrFormat("/proc/%d/task", pid_);
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return FileError(path, errno);
  std::vector<pid_t> tids;
  while (dirent* entry = ::readdir(dir)) {
    pid_t tid = 0;
    if (absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
  }
  ::closedir(dir);
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
  TaskActivity activity;
  activity.tid = tid;
  absl::StatusOr<std::string> stat_text = ReadOpenFile(files.stat.get());
  absl::StatusOr<std::string> syscall_text = ReadOpenFile(files.syscall.get());
  if (!stat_text.ok() || !syscall_text.ok() || stat_text->empty()) {
    files_.erase(tid);  // an exited thread's files read as errors (ESRCH) or empty
    return absl::NotFoundError(absl::StrFormat("thread %d has exited", tid));
  }
  ASSIGN_OR_RETURN(activity.stat, ParseStat(*stat_text));
  ASSIGN_OR_RETURN(activity.syscall, ParseSyscall(*syscall_text));
  return activity;
}

}  // namespace gilscope
