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

// Reads /proc/PID/task/*. Keeps each thread's files open so repeated reads cost one pread each.
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
  absl::flat_hash_map<pid_t, TaskFiles> files_;
};

// Reads a whole small file such as /proc/PID/maps. NotFound when it does not exist.
absl::StatusOr<std::string> ReadProcFile(const std::string& path);

// Reads from an open fd at offset 0 into a string (for re-reading /proc files cheaply).
absl::StatusOr<std::string> ReadOpenFile(int fd);

}  // namespace gilscope

#endif  // GILSCOPE_PROC_TASK_READER_H_
