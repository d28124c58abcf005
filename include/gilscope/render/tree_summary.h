// `gilscope record --subprocesses`: what is said of a recording of several processes. Each
// process has its own Profile (GIL figures do not add up across processes); the flame formats
// draw one combined Profile whose stacks sit under a root frame per process.
#ifndef GILSCOPE_RENDER_TREE_SUMMARY_H_
#define GILSCOPE_RENDER_TREE_SUMMARY_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/render/record_output.h"

namespace gilscope {

// Command lines are cut to this many bytes in root frames and summary lines.
inline constexpr size_t kProcessLabelCommand = 60;

// The root frame of a process's stacks: "pid 1234: python app.py --x", the command line cut
// to kProcessLabelCommand bytes ("..." added when cut) and made TerminalSafe.
std::string ProcessRootLabel(pid_t pid, absl::string_view command_line);

// One process of the recording, as the summary reads it.
struct ProcessResult {
  pid_t parent_pid = 0;
  const Profile* profile = nullptr;
  RecordingInfo info;  // this process's: pid, command line, version, its own sampling counts
};

// How much a process matters to the overall verdict: the samples in which its GIL was
// contended first, then its busy thread-samples (holding, waiting, running without the GIL).
struct ProcessWeight {
  int64_t contended_samples = 0;
  int64_t busy_thread_samples = 0;
};
ProcessWeight WeightOf(const Profile& profile);
// Pure: the index of the heaviest of `weights` (the first of equals, so the tree's root wins
// a tie); 0 when empty.
size_t MostImportantProcess(absl::Span<const ProcessWeight> weights);

// A line per process (pid, command, samples, GIL held, contention, mean waiters, hand-offs,
// verdict), then the verdict of the process that matters most and a count of the others'.
// `left_out`: descendants beyond the cap, never sampled.
void WriteTreeSummaryText(absl::Span<const ProcessResult> processes, size_t left_out,
                          std::ostream& out);
// The JSON summary: the most important process's object at the top level (the schema of one
// process, unchanged), plus "processes": each process's object with parent_pid, and
// "processes_left_out".
void WriteTreeSummaryJson(absl::Span<const ProcessResult> processes, size_t left_out,
                          std::ostream& out);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_TREE_SUMMARY_H_
