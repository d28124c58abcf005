// A process and its descendants, found in /proc: for commands that follow a service made of
// several processes (a gunicorn master and its workers, a multiprocessing pool).
#ifndef GILSCOPE_PROC_PROCESS_TREE_H_
#define GILSCOPE_PROC_PROCESS_TREE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace gilscope {

// At most this many processes of a tree (the root included) are returned; the rest are counted.
inline constexpr size_t kMaxTreeProcesses = 256;

struct ProcessLink {
  pid_t pid = 0;
  pid_t parent_pid = 0;
  bool operator==(const ProcessLink&) const = default;
};

struct TreeMembers {
  std::vector<ProcessLink> members;  // the root first, then depth first, siblings by pid
  size_t left_out = 0;               // descendants beyond the cap
};

// Pure: the root and its descendants in `links` (every process's pid and parent pid, in any
// order). Empty when the root is not in `links`. Garbage a racing read of /proc can produce
// (a pid listed twice, a process its own parent, a cycle through reused pids) yields each
// process at most once and never loops; the work is O(n log n) in the size of `links`.
TreeMembers DescendantsInTreeOrder(pid_t root, absl::Span<const ProcessLink> links,
                                   size_t cap = kMaxTreeProcesses);

// Pure: /proc/PID/cmdline as one line, its NULs as spaces. Still the target's bytes: escape
// before printing.
std::string CommandLineText(absl::string_view cmdline);

struct TreeProcess {
  pid_t pid = 0;
  pid_t parent_pid = 0;
  std::string command_line;  // empty for a kernel thread or a process gone since
  // Exited and not yet reaped, every thread gone (not a main thread that exited while others
  // run on, whose stat says Z too).
  bool zombie = false;
};

struct ProcessTree {
  std::vector<TreeProcess> processes;  // in the order of DescendantsInTreeOrder
  size_t left_out = 0;                 // descendants beyond kMaxTreeProcesses
  size_t unscanned = 0;                // /proc entries past the scan's bound, not looked at
};

// Reads the tree of `root` from /proc/*/stat (the parent pid field: unlike
// /proc/PID/task/TID/children it needs no CONFIG_PROC_CHILDREN, and it is read whole in one
// pass). NotFound when there is no process `root`. Bounded: at most kMaxScannedProcesses stat
// files, one page each, and kMaxTreeProcesses command lines of at most kMaxCommandLine bytes.
inline constexpr size_t kMaxScannedProcesses = 1 << 16;
inline constexpr size_t kMaxCommandLine = 4096;
absl::StatusOr<ProcessTree> ReadProcessTree(pid_t root);

}  // namespace gilscope

#endif  // GILSCOPE_PROC_PROCESS_TREE_H_
