// `gilscope dump` output: a human report and JSON, from a target and one snapshot.
#ifndef GILSCOPE_RENDER_DUMP_OUTPUT_H_
#define GILSCOPE_RENDER_DUMP_OUTPUT_H_

#include <sys/types.h>

#include <ostream>
#include <string>
#include <vector>

#include "gilscope/sample/free_threaded_gil.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope {

// The words a dump says about its target, copied from what locating it found (PythonTarget):
// rendering needs these, not the code that finds a runtime in a process.
struct DumpTarget {
  pid_t pid = 0;
  std::string executable;     // /proc/PID/exe
  std::string command_line;   // /proc/PID/cmdline, spaces between arguments
  std::string python_binary;  // the ELF object holding the runtime
  std::string version;        // "3.12.1", as the target reports it
  bool free_threaded = false;
  // Free-threaded targets: why the GIL is on or off, read with the snapshot.
  FreeThreadedGil free_threaded_gil;
};

struct DumpContext {
  const DumpTarget& target;
  const Snapshot& snapshot;  // GIL roles settled (FillGilRoles), as SnapshotTaker::Take makes it
  bool paused = true;        // false with --nonblocking: threads kept running while read
};

void WriteDumpText(const DumpContext& dump, std::ostream& out);

// Schema documented in man/gilscope.1 (JSON OUTPUT).
void WriteDumpJson(const DumpContext& dump, std::ostream& out);

// `dump --subprocesses`: one process of the tree, dumped.
struct TreeDump {
  pid_t parent_pid = 0;
  DumpTarget target;
  Snapshot snapshot;
  bool paused = true;
};

// A process of the tree not dumped, and why.
struct SkippedProcess {
  enum class Why { kNotPython, kExited, kUnreadable };
  pid_t pid = 0;
  pid_t parent_pid = 0;
  std::string command_line;  // /proc/PID/cmdline, NULs as spaces
  Why why = Why::kNotPython;
  std::string message;  // with kUnreadable: what went wrong
};

// "Process PID (parent PPID): COMMAND LINE — Python X.Y.Z (BINARY)", then what WriteDumpText
// prints after its first two lines.
void WriteTreeDumpText(const TreeDump& dump, std::ostream& out);

// {"processes": [WriteDumpJson's object plus "parent_pid", ...], "skipped": [...],
// "left_out": N}; documented in man/gilscope.1 (DUMP JSON OUTPUT).
void WriteTreeDumpJson(const std::vector<TreeDump>& processes,
                       const std::vector<SkippedProcess>& skipped, size_t left_out,
                       std::ostream& out);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_DUMP_OUTPUT_H_
