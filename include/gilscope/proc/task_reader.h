// Lists a target's threads and reads what each is doing, from /proc. Behind an interface so
// thread classification can be tested on made-up thread states.
#ifndef GILSCOPE_PROC_TASK_READER_H_
#define GILSCOPE_PROC_TASK_READER_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gilscope/base/unique_fd.h"
#include "gilscope/proc/proc_parsers.h"

namespace gilscope {

struct TaskActivity {
  pid_t tid = 0;
  std::string comm;  // the OS thread name (/proc comm)
  TaskSyscall syscall;
  // The thread has not been on a CPU since the previous read found it blocked in a system
  // call: it is still there (or woken and not yet run), and what was read of it then, its
  // Python stack included, still holds.
  bool unchanged = false;
  // Which full read of the thread this is (1, 2, ...; 0 when the reader does not count): two
  // reads with the same number saw the thread with no run in between.
  uint64_t observation = 0;
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
//
// Reading a thread costs one pread of its schedstat (three numbers, the cheapest file that
// says whether it ran) and, unless it has stayed blocked since the last read, one of its
// syscall file. (Stopping a thread puts it on a CPU, so a pause never leaves one looking
// unchanged.) Its comm is read when first seen and again after kCommMaxAge; the kernel's
// stat file (52 formatted fields, the costliest) is never read per sample.
class ProcTaskReader : public TaskReader {
 public:
  static constexpr absl::Duration kCommMaxAge = absl::Seconds(1);

  // How ListThreads finds the threads. kWhenCountChanges lists again only when the thread
  // count changed or a thread of the last listing was found gone (by ReadTask): cheap, and
  // right for a caller that reads every listed thread each time (so it sees the gone one). A
  // thread that left as another came would make one call give the old list.
  enum class Listing { kEveryCall, kWhenCountChanges };

  explicit ProcTaskReader(pid_t pid, Listing listing = Listing::kEveryCall)
      : pid_(pid), listing_(listing) {}

  absl::StatusOr<std::vector<pid_t>> ListThreads() override;
  absl::StatusOr<TaskActivity> ReadTask(pid_t tid) override;

 private:
  struct TaskFiles {
    UniqueFd schedstat;
    bool no_schedstat = false;  // the kernel has none (no CONFIG_SCHED_INFO): full reads only
    UniqueFd syscall;
    std::optional<TaskSchedstat> last_schedstat;  // read just before `last`
    std::optional<TaskActivity> last;             // the last full read
    std::string comm;
    absl::Time comm_read_at = absl::InfinitePast();
    uint64_t full_reads = 0;
  };
  // Whether the thread has not run since `files.last` was read, and its schedstat now.
  bool StayedBlocked(pid_t tid, TaskFiles& files, std::optional<TaskSchedstat>* now);

  pid_t pid_;
  Listing listing_;
  UniqueFd task_dir_;
  std::vector<char> dirents_;  // getdents64 buffer, kept between listings
  std::vector<pid_t> listed_;  // the last listing
  nlink_t listed_links_ = 0;   // task_dir_'s link count when it was taken
  bool listing_stale_ = true;  // a thread came or went since, or may have: list again
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
