// Lists a target's threads and reads what each is doing, from /proc. Behind an interface so
// thread classification can be tested on made-up thread states.
#ifndef GILSCOPE_PROC_TASK_READER_H_
#define GILSCOPE_PROC_TASK_READER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "gilscope/base/unique_fd.h"
#include "gilscope/proc/proc_parsers.h"

namespace gilscope {

struct TaskActivity {
  pid_t tid = 0;
  TaskStat stat;
  TaskSyscall syscall;
};

class TaskReader {
 public:
  virtual ~TaskReader() = default;
  virtual absl::StatusOr<std::vector<pid_t>> ListThreads() = 0;
  // NotFound when the thread has exited.
  virtual absl::StatusOr<TaskActivity> ReadTask(pid_t tid) = 0;
};

// Reads /proc/PID/task/*. Keeps /proc/PID/task and each thread's files open, so listing again
// costs a rewind and a read, and reading a thread again one pread per file. An open
// /proc/PID/task keeps naming the process it was opened for: once that process is gone it
// reads as gone (NotFound), even if its pid has been reused.
class ProcTaskReader : public TaskReader {
 public:
  explicit ProcTaskReader(pid_t pid) : pid_(pid) {}

  absl::StatusOr<std::vector<pid_t>> ListThreads() override;
  absl::StatusOr<TaskActivity> ReadTask(pid_t tid) override;

 private:
  struct TaskFiles {
    UniqueFd stat;
    UniqueFd syscall;
  };

  pid_t pid_;
  UniqueFd task_dir_;
  std::vector<char> dirents_;  // getdents64 buffer, kept between listings
  absl::flat_hash_map<pid_t, TaskFiles> files_;
};

// Reads a whole small file such as /proc/PID/maps. NotFound when it does not exist.
absl::StatusOr<std::string> ReadProcFile(const std::string& path);

// Reads from an open fd at offset 0 into a string (for re-reading /proc files cheaply).
absl::StatusOr<std::string> ReadOpenFile(int fd);

// Reads a small file from an open fd at offset 0 into `buffer` in one pread, for /proc files
// such as stat and syscall, which the kernel's seq_file code hands over whole in one read when
// they fit (fs/seq_file.c). Returns the length; OutOfRange when the file may not fit, in which
// case the caller reads it with ReadOpenFile.
absl::StatusOr<size_t> ReadSmallOpenFile(int fd, char* buffer, size_t size);

}  // namespace gilscope

#endif  // GILSCOPE_PROC_TASK_READER_H_
