#include "gilscope/proc/task_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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
// Far more than one entry of /proc/PID/task takes (a header and a thread id).
constexpr size_t kDirentsSlack = 512;

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
  } else {
    // The directory's link count is 2 plus the process's thread count (fs/proc/base.c,
    // proc_task_getattr): far cheaper than a listing. The same count, and no thread of the
    // last listing found gone since, is the same threads (one that left and one that came in
    // between would leave a read of the one gone failing, which makes the next call list).
    struct stat info;
    if (listing_ == Listing::kWhenCountChanges && !listing_stale_ &&
        ::fstat(task_dir_.get(), &info) == 0 && info.st_nlink == listed_links_) {
      return listed_;
    }
    if (::lseek(task_dir_.get(), 0, SEEK_SET) != 0) return FileError(path(), errno);
  }
  struct stat before;
  const bool counted = ::fstat(task_dir_.get(), &before) == 0;
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
    // The kernel fills the buffer until the list ends or the next entry does not fit: room
    // left for several more entries means the list ended, and the call that would say so
    // (returning 0) is saved.
    if (static_cast<size_t>(got) + kDirentsSlack <= dirents_.size()) break;
  }
  std::sort(tids.begin(), tids.end());
  // Trusted next time only if no thread came or went while listing.
  listing_stale_ = !counted;
  if (counted) {
    struct stat after;
    listing_stale_ = ::fstat(task_dir_.get(), &after) != 0 || after.st_nlink != before.st_nlink;
    listed_links_ = before.st_nlink;
  }
  listed_ = tids;
  // Forget files of threads that are gone, so a long recording does not pile up descriptors.
  for (auto it = files_.begin(); it != files_.end();) {
    auto next = std::next(it);
    if (!std::binary_search(tids.begin(), tids.end(), it->first)) files_.erase(it);
    it = next;
  }
  return tids;
}

bool ProcTaskReader::StayedBlocked(pid_t tid, TaskFiles& files, std::optional<TaskSchedstat>* now) {
  now->reset();
  if (!files.schedstat.valid()) {
    if (files.no_schedstat) return false;
    const std::string path = absl::StrFormat("/proc/%d/task/%d/schedstat", pid_, tid);
    files.schedstat = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    files.no_schedstat = !files.schedstat.valid();  // not tried again for this thread
    if (files.no_schedstat) return false;
  }
  char buffer[128];
  absl::StatusOr<size_t> got = ReadSmallOpenFile(files.schedstat.get(), buffer, sizeof buffer);
  if (!got.ok()) return false;
  absl::StatusOr<TaskSchedstat> stat = ParseSchedstat(absl::string_view(buffer, *got));
  if (!stat.ok()) return false;
  *now = *stat;
  // Every time the thread is put on a CPU its run count goes up; the last read was made after
  // this count was taken, so a thread blocked then and not put on a CPU since has not moved.
  // A kernel that keeps no counts (all zero) says nothing.
  return files.last && files.last->syscall.kind == TaskSyscall::Kind::kInSyscall &&
         files.last_schedstat && stat->run_count != 0 && *files.last_schedstat == *stat;
}

absl::StatusOr<TaskActivity> ProcTaskReader::ReadTask(pid_t tid) {
  TaskFiles& files = files_[tid];
  auto gone = [&] {
    listing_stale_ = true;
    files_.erase(tid);  // an exited thread's files read as errors (ESRCH) or empty
    return absl::NotFoundError(absl::StrFormat("thread %d has exited", tid));
  };
  std::optional<TaskSchedstat> schedstat;
  if (StayedBlocked(tid, files, &schedstat)) {
    TaskActivity activity = *files.last;
    activity.unchanged = true;
    return activity;
  }
  if (!files.syscall.valid()) {
    const std::string path = absl::StrFormat("/proc/%d/task/%d/syscall", pid_, tid);
    files.syscall = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!files.syscall.valid()) {
      absl::Status status = FileError(path, errno);
      listing_stale_ = true;
      files_.erase(tid);
      return status;
    }
  }
  char buffer[kTaskFileBuffer];
  absl::StatusOr<size_t> got = ReadSmallOpenFile(files.syscall.get(), buffer, sizeof buffer);
  if (!got.ok() || *got == 0) return gone();
  TaskActivity activity;
  activity.tid = tid;
  ASSIGN_OR_RETURN(activity.syscall, ParseSyscall(absl::string_view(buffer, *got)));
  activity.observation = ++files.full_reads;
  const absl::Time now = absl::Now();
  if (now - files.comm_read_at >= kCommMaxAge) {
    absl::StatusOr<std::string> comm =
        ReadProcFile(absl::StrFormat("/proc/%d/task/%d/comm", pid_, tid));
    if (!comm.ok()) return gone();
    if (!comm->empty() && comm->back() == '\n') comm->pop_back();
    files.comm = std::move(*comm);
    files.comm_read_at = now;
  }
  activity.comm = files.comm;
  files.last = activity;
  files.last_schedstat = schedstat;
  return activity;
}

}  // namespace gilscope
