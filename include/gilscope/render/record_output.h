// `gilscope record` outputs: the flame graph SVG, collapsed stacks, speedscope JSON, pprof, a
// Perfetto trace, and the summary (text for stderr, JSON for --summary). All read one finished
// Profile.
#ifndef GILSCOPE_RENDER_RECORD_OUTPUT_H_
#define GILSCOPE_RENDER_RECORD_OUTPUT_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/aggregate/without_gil.h"
#include "gilscope/sample/free_threaded_gil.h"

namespace gilscope {

// An ELF object native frames were named from: Frame::file is its base name.
struct NativeObject {
  std::string path;      // as the target maps it: untrusted
  std::string build_id;  // hex; empty when it has none
};

struct RecordingInfo;

// record --subprocesses: one process of the tree, its own Profile and info.
struct ProcessRecording {
  const Profile* profile = nullptr;
  const RecordingInfo* info = nullptr;
};

// What the outputs say about the recording itself, besides its samples.
struct RecordingInfo {
  pid_t pid = 0;
  std::string command_line;                // from the target: untrusted
  std::string python_version;              // "3.12.1"
  bool free_threaded = false;              // a --disable-gil build (its GIL may be on)
  FreeThreadedGil free_threaded_gil;       // free-threaded: why the GIL is on, as last read
  ProfileMode mode = ProfileMode::kBlame;  // the view collapsed output writes and the SVG opens on
  double rate_hz = 100;
  bool paused = true;           // false with --nonblocking
  bool idle_kept = false;       // --idle
  bool native = false;          // --native: stacks merged with native frames
  bool by_interpreter = false;  // --by-interpreter: an "interpreter N" root frame above each stack
  bool by_thread = false;       // --by-thread: the summary's table has a row per thread, no groups
  int64_t late_samples = 0;     // samples taken more than one period late
  int64_t missed_samples = 0;   // schedule slots skipped because sampling fell behind
  int64_t scheduled_samples = 0;  // schedule slots in all: taken, failed and skipped
  absl::Duration elapsed;         // from the first slot to the end of sampling
  absl::Duration paused_total;    // how long the target was stopped, over all samples
  // The wall-clock time of the first sample (the samples' own times are monotonic).
  std::optional<absl::Time> started_at;
  std::string end_reason;  // "duration reached", "interrupted", "target exited"
  // GIL hand-offs per second (all GILs) counted before sampling, over unobserved_window, with
  // the target left alone: against the recording's own rate, the observer effect. Unset when
  // not measured (launch mode, --baseline 0, no switch counter in this version).
  std::optional<double> unobserved_switches_per_s;
  absl::Duration unobserved_window;
  std::vector<NativeObject> native_objects;  // with --native: the objects frames came from
  // The CPUs the target may use, for the what-if estimate (without_gil.h); none: no estimate.
  std::optional<CpuBudget> cpu_budget;
  // record --subprocesses: each thread's process, by OS thread id (a thread not listed is in
  // `pid`). pprof then labels every sample with a numeric "pid", and Perfetto puts each thread
  // under its own process. Empty without --subprocesses.
  absl::flat_hash_map<pid_t, pid_t> thread_process;
  // record --subprocesses: every process recorded, for formats that draw each process apart
  // (Perfetto: a process track with its own verdict, its own GIL counters). Empty otherwise.
  std::vector<ProcessRecording> tree_processes;
};

// The process of a thread (record --subprocesses), else info.pid.
inline pid_t ProcessOfThread(const RecordingInfo& info, pid_t native_id) {
  auto found = info.thread_process.find(native_id);
  return found == info.thread_process.end() ? info.pid : found->second;
}

// "function (file:line)", as py-spy labels frames; the line is left out when unknown.
std::string FrameLabel(const Frame& frame);
// Human words for a thread state: "holding GIL", "waiting for GIL", "running without GIL", "idle".
const char* StateWords(ThreadState state);

// How the stacks of every format are drawn from the recording.
inline ByInterpreter StackSplit(const RecordingInfo& info) {
  return info.by_interpreter ? ByInterpreter::kSplit : ByInterpreter::kMerged;
}

// Self-contained SVG carrying every view (blame, wait, gil, wall, cpu), opening on info.mode.
void WriteFlameGraphSvg(const Profile& profile, const RecordingInfo& info, std::ostream& out);
// Folded stacks of info.mode, root first: "frame;frame;frame count".
void WriteCollapsed(const Profile& profile, const RecordingInfo& info, std::ostream& out);
// speedscope's file format, one sampled profile per view.
void WriteSpeedscope(const Profile& profile, const RecordingInfo& info, std::ostream& out);

// pprof's profile.proto, gzip-compressed: every view a sample type, every sample labelled with
// its thread's GIL state, name, id and interpreter, for `go tool pprof` and Pyroscope.
void WritePprof(const Profile& profile, const RecordingInfo& info, std::ostream& out);
// A Perfetto trace (TrackEvent protobuf): a track per thread with its GIL states and Python
// stacks over time, and per GIL its waiters and hand-offs, for ui.perfetto.dev.
void WritePerfettoTrace(const Profile& profile, const RecordingInfo& info, std::ostream& out);

// The end-of-recording report for stderr, and the same as JSON for --summary. The text also
// says what the figures cannot: how long the target was paused, and a view left empty because
// the GIL was off.
void WriteSummaryText(const Profile& profile, const RecordingInfo& info, std::ostream& out);
void WriteSummaryJson(const Profile& profile, const RecordingInfo& info, std::ostream& out);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_RECORD_OUTPUT_H_
