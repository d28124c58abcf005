// Pure parsers for the /proc text gilscope reads. No file access here, so each is unit tested.
#ifndef GILSCOPE_PROC_PROC_PARSERS_H_
#define GILSCOPE_PROC_PROC_PARSERS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gilscope {

struct MemoryMapping {
  uint64_t start = 0;
  uint64_t end = 0;
  bool readable = false;
  bool writable = false;
  bool executable = false;
  uint64_t file_offset = 0;
  uint64_t inode = 0;
  std::string path;  // empty for anonymous mappings; " (deleted)" suffix removed
  bool deleted = false;
};

// Parses /proc/PID/maps.
absl::StatusOr<std::vector<MemoryMapping>> ParseMaps(absl::string_view text);

struct TaskStat {
  char state = '?';  // R, S, D, T, t, Z, X, I
  std::string comm;
  int parent_pid = -1;  // the ppid field; -1 when the line stops before it
};

// Parses /proc/PID/task/TID/stat. The comm field may contain spaces and parentheses.
absl::StatusOr<TaskStat> ParseStat(absl::string_view text);

// What /proc/PID/task/TID/syscall says a thread is doing.
struct TaskSyscall {
  enum class Kind { kRunning, kInSyscall, kUserSpace };
  Kind kind = Kind::kRunning;    // kRunning: on a CPU, no registers shown
  int64_t number = -1;           // with kInSyscall
  uint64_t args[6] = {};         // with kInSyscall
  uint64_t stack_pointer = 0;    // with kInSyscall and kUserSpace
  uint64_t program_counter = 0;  // with kInSyscall and kUserSpace
};

// Parses /proc/PID/task/TID/syscall: "running", "-1 SP PC" (stopped outside a syscall) or
// "NR ARG0..ARG5 SP PC".
absl::StatusOr<TaskSyscall> ParseSyscall(absl::string_view text);

// /proc/PID/task/TID/schedstat: time on a CPU, time waiting for one (both ns), and how many
// times the scheduler put the thread on a CPU (kernel/sched/stats.c, sched_info_arrive).
struct TaskSchedstat {
  uint64_t run_ns = 0;
  uint64_t wait_ns = 0;
  uint64_t run_count = 0;
  bool operator==(const TaskSchedstat&) const = default;
};

absl::StatusOr<TaskSchedstat> ParseSchedstat(absl::string_view text);

// The TracerPid line of /proc/PID/status; 0 when untraced.
std::optional<int> ParseTracerPid(absl::string_view status_text);

// A short name for an x86_64 syscall number ("futex", "clock_nanosleep"), or "syscall N".
std::string SyscallName(int64_t number);

}  // namespace gilscope

#endif  // GILSCOPE_PROC_PROC_PARSERS_H_
