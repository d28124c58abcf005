// gilscope_sample_bench: what one sample costs, in microseconds.
//
//   gilscope_sample_bench [--python PATH]... [--threads 1,10,50] [--samples 500] [--warmup 50]
//                         [--depth 15] [--gap-us 2000] [--workload FILE]
//                         [--modes blocking,whole,nonblocking,pause,native,native-all] [--json]
//
// The Python defaults to /usr/bin/python3; --python may be given several times. A missing
// interpreter is reported in one line, with a non-zero exit.
//
// For each interpreter and thread count it starts tests/workloads/bench_threads.py, finds the
// runtime once, then times samples the way `gilscope record` takes them: one long-lived
// ProcessMemory, ProcTaskReader and SnapshotTaker (so their caches persist from sample to
// sample), and per sample either SnapshotTaker::ThreadsToStop + ProcessPause::PauseThreads +
// Take ("blocking", record's pause, with terminating signals held as record holds them), or
// ProcessPause::Pause of every thread + Take ("whole", dump's pause), or Take alone
// ("nonblocking"). "native" is blocking with the on-CPU threads' native stacks (record
// --native), "native-all" whole with every thread's (dump --native). "pause" times the
// whole-process Pause and resume alone, which tells the cost of stopping the target apart from
// the cost of reading it. Samples are spaced by --gap-us so the target runs between them, as
// it does in a recording.
//
// "cpu" is the CPU time the bench itself spent on a sample (user + system): on a loaded machine
// the wall-clock cost also holds the time the bench waited for a CPU, which this leaves out.
// "stopped" is how long threads were stopped in a paused sample: from the first
// PTRACE_INTERRUPT to the return of the last PTRACE_DETACH. "complete" is the share of samples
// that saw every Python thread with its whole stack (a torn non-blocking read lowers it).
// "reads" and "KiB" are the memory reads (process_vm_readv calls) and bytes one sample took
// from the target, on average.
//
// The workloads are this program's children: they are killed on every way out, including
// gilscope_sample_bench being killed (PR_SET_PDEATHSIG), and the kernel detaches a target
// whose tracer dies, so no target is ever left stopped.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/process_pause.h"
#include "gilscope/proc/task_reader.h"
#include "gilscope/sampler/snapshot.h"

#ifndef GILSCOPE_BENCH_WORKLOAD
#define GILSCOPE_BENCH_WORKLOAD "tests/workloads/bench_threads.py"
#endif

namespace gilscope {
namespace {

constexpr absl::Duration kReadyTimeout = absl::Seconds(60);

// Set by SIGINT/SIGTERM/SIGHUP: the bench stops after the current sample and cleans up.
volatile sig_atomic_t stop_requested = 0;

void RequestStop(int) { stop_requested = 1; }

// kNative: blocking, with the holder's and runnable threads' native stacks merged (record
// --native); kNativeAll: every thread's native stack (dump --native).
enum class Mode { kBlocking, kWhole, kNonblocking, kPauseOnly, kNative, kNativeAll };

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kBlocking:
      return "blocking";
    case Mode::kWhole:
      return "whole";
    case Mode::kNonblocking:
      return "nonblocking";
    case Mode::kPauseOnly:
      return "pause";
    case Mode::kNative:
      return "native";
    case Mode::kNativeAll:
      return "native-all";
  }
  return "?";
}

struct Options {
  std::vector<std::string> pythons;
  std::string workload = GILSCOPE_BENCH_WORKLOAD;
  std::vector<int> thread_counts = {1, 10, 50};
  std::vector<Mode> modes = {Mode::kBlocking, Mode::kNonblocking};
  int samples = 500;
  int warmup = 50;
  int depth = 15;
  absl::Duration gap = absl::Microseconds(2000);
  bool json = false;
};

constexpr char kUsage[] =
    "usage: gilscope_sample_bench [--python PATH]... [--threads 1,10,50] [--samples 500]\n"
    "                             [--warmup 50] [--depth 15] [--gap-us 2000] [--workload FILE]\n"
    "                             [--modes blocking,whole,nonblocking,pause,native,native-all] "
    "[--json]\n";

// Returns an error message, empty when the arguments are fine.
std::string ParseOptions(int argc, char** argv, Options& options) {
  auto positive = [](absl::string_view text, int* out) {
    return absl::SimpleAtoi(text, out) && *out > 0;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") {
      options.json = true;
      continue;
    }
    if (flag == "--help" || flag == "-h") return "help";
    if (i + 1 >= argc) return absl::StrCat(flag, " needs a value (or is unknown)");
    const std::string value = argv[++i];
    int number = 0;
    if (flag == "--python") {
      options.pythons.push_back(value);
    } else if (flag == "--workload") {
      options.workload = value;
    } else if (flag == "--samples" && positive(value, &number)) {
      options.samples = number;
    } else if (flag == "--warmup" && absl::SimpleAtoi(value, &number) && number >= 0) {
      options.warmup = number;
    } else if (flag == "--depth" && positive(value, &number)) {
      options.depth = number;
    } else if (flag == "--gap-us" && absl::SimpleAtoi(value, &number) && number >= 0) {
      options.gap = absl::Microseconds(number);
    } else if (flag == "--threads") {
      options.thread_counts.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        if (!positive(part, &number)) return absl::StrCat("bad --threads value '", value, "'");
        options.thread_counts.push_back(number);
      }
    } else if (flag == "--modes") {
      options.modes.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        const Mode all[] = {Mode::kBlocking,  Mode::kWhole,  Mode::kNonblocking,
                            Mode::kPauseOnly, Mode::kNative, Mode::kNativeAll};
        auto mode = std::find_if(std::begin(all), std::end(all),
                                 [&](Mode m) { return part == ModeName(m); });
        if (mode == std::end(all)) return absl::StrCat("bad --modes value '", value, "'");
        options.modes.push_back(*mode);
      }
    } else {
      return absl::StrCat("bad option or value: ", flag, " ", value);
    }
  }
  if (options.pythons.empty()) options.pythons.push_back("/usr/bin/python3");
  return "";
}

// The workload, started and owned by the bench: killed and reaped when this goes away.
class Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> Start(const std::string& python,
                                                         const std::string& script, int threads,
                                                         int depth) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
    const std::string threads_text = absl::StrCat(threads);
    const std::string depth_text = absl::StrCat(depth);
    std::vector<char*> args = {const_cast<char*>(python.c_str()), const_cast<char*>(script.c_str()),
                               const_cast<char*>(threads_text.c_str()),
                               const_cast<char*>(depth_text.c_str()), nullptr};
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      return absl::InternalError(absl::StrCat("fork failed: ", std::strerror(errno)));
    }
    if (pid == 0) {
      // Dies with the bench, even when the bench is SIGKILLed.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(pipe_fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
      ::execv(python.c_str(), args.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    std::unique_ptr<Workload> workload(new Workload(pid));
    absl::Status ready = workload->WaitForReady(pipe_fds[0]);
    ::close(pipe_fds[0]);
    if (!ready.ok()) return ready;
    return workload;
  }

  ~Workload() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  pid_t pid() const { return pid_; }

 private:
  explicit Workload(pid_t pid) : pid_(pid) {}

  absl::Status WaitForReady(int fd) {
    const absl::Time deadline = absl::Now() + kReadyTimeout;
    std::string output;
    while (output.find("ready\n") == std::string::npos) {
      if (stop_requested) return absl::CancelledError("interrupted");
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError("the workload did not print \"ready\" within 60 s");
      }
      pollfd poll_fd{fd, POLLIN, 0};
      const int polled = ::poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (polled < 0 && errno == EINTR) continue;
      if (polled <= 0) continue;
      char buffer[256];
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return absl::FailedPreconditionError("the workload exited before it was ready");
      output.append(buffer, static_cast<size_t>(got));
    }
    return absl::OkStatus();
  }

  pid_t pid_;
};

// Signals that would end the bench are held while the target is stopped, as record holds them.
class HoldTerminatingSignals {
 public:
  HoldTerminatingSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, signal);
    ::sigprocmask(SIG_BLOCK, &set, &previous_);
  }
  ~HoldTerminatingSignals() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  HoldTerminatingSignals(const HoldTerminatingSignals&) = delete;
  HoldTerminatingSignals& operator=(const HoldTerminatingSignals&) = delete;

 private:
  sigset_t previous_;
};

absl::Duration ThreadCpuTime() {
  timespec now;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return absl::DurationFromTimespec(now);
}

struct Summary {
  double median = 0, p90 = 0, mean = 0;
};

Summary Summarize(std::vector<double> values) {
  Summary summary;
  if (values.empty()) return summary;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  summary.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  summary.p90 = values[std::min(n - 1, (n * 9 + 9) / 10 - 1)];
  summary.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
  return summary;
}

// Counts what reaches the target's memory: system calls (a batch counts once) and bytes.
class CountingMemory : public RemoteMemory {
 public:
  explicit CountingMemory(RemoteMemory& backing) : backing_(backing) {}
  absl::Status Read(RemoteAddress address, void* out, size_t size) override {
    ++calls_;
    bytes_ += size;
    return backing_.Read(address, out, size);
  }
  void ReadMany(absl::Span<ReadRequest> requests) override {
    ++calls_;
    for (const ReadRequest& request : requests) bytes_ += request.size;
    backing_.ReadMany(requests);
  }
  uint64_t calls() const { return calls_; }
  uint64_t bytes() const { return bytes_; }

 private:
  RemoteMemory& backing_;
  uint64_t calls_ = 0;
  uint64_t bytes_ = 0;
};

struct Row {
  std::string python;
  std::string version;
  int threads = 0;
  Mode mode = Mode::kBlocking;
  int samples = 0;  // timed samples that produced a snapshot
  int failed = 0;   // timed samples that failed (Pause or Take returned an error)
  int complete = 0;
  Summary cost;
  Summary cpu;
  Summary stopped;          // with a pause only
  double memory_calls = 0;  // process_vm_readv calls per sample, mean
  double memory_kib = 0;    // KiB read from the target per sample, mean
};

// Every Python thread present, each with its whole stack.
bool IsComplete(const Snapshot& snapshot, int threads, int depth) {
  int seen = 0;
  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (!thread.is_python) continue;
    ++seen;
    if (!thread.error.empty() || static_cast<int>(thread.frames.size()) < depth) return false;
  }
  return seen == threads;
}

class Bench {
 public:
  Bench(const Options& options, const PythonTarget& target, CountingMemory& memory,
        ProcTaskReader& tasks)
      : options_(options),
        target_(target),
        memory_(memory),
        taker_(target, memory, tasks),
        native_taker_(target, memory, tasks),
        native_all_taker_(target, memory, tasks) {}

  absl::Status EnableNative() {
    RETURN_IF_ERROR(native_taker_.EnableNativeStacks(NativeStacks::kOnCpu, false));
    return native_all_taker_.EnableNativeStacks(NativeStacks::kAll, false);
  }

  struct Cost {
    absl::Duration wall, cpu, stopped;
  };

  // One sample; returns false when it failed. `cost` is set on success.
  bool Sample(Mode mode, Cost* cost, bool* complete, int threads) {
    absl::StatusOr<Snapshot> snapshot;
    const absl::Duration cpu_start = ThreadCpuTime();
    const absl::Time start = absl::Now();
    SnapshotTaker& taker = mode == Mode::kNative      ? native_taker_
                           : mode == Mode::kNativeAll ? native_all_taker_
                                                      : taker_;
    // blocking and native stop the threads record stops; the others the whole process.
    std::optional<std::vector<pid_t>> stop;
    if (mode == Mode::kBlocking || mode == Mode::kNative) {
      absl::StatusOr<std::vector<pid_t>> threads = taker.ThreadsToStop();
      if (!threads.ok()) {
        last_error_ = threads.status();
        return false;
      }
      stop = *std::move(threads);
    }
    if (stop && stop->empty()) {  // nothing runs: record takes the sample without a pause
      snapshot = taker.Take();
      cost->wall = absl::Now() - start;
      cost->stopped = absl::ZeroDuration();
    } else if (mode != Mode::kNonblocking) {
      HoldTerminatingSignals hold;
      absl::StatusOr<std::unique_ptr<ProcessPause>> pause =
          stop ? ProcessPause::PauseThreads(target_.pid, *stop) : ProcessPause::Pause(target_.pid);
      if (!pause.ok()) {
        last_error_ = pause.status();
        return false;
      }
      const absl::Time stop_requested = (*pause)->stop_requested_at();
      if (mode != Mode::kPauseOnly) snapshot = taker.Take();
      pause->reset();  // resumes the target
      const absl::Time end = absl::Now();
      cost->wall = end - start;
      cost->stopped =
          stop_requested == absl::InfiniteFuture() ? absl::ZeroDuration() : end - stop_requested;
    } else {
      snapshot = taker_.Take();
      cost->wall = absl::Now() - start;
      cost->stopped = absl::ZeroDuration();
    }
    cost->cpu = ThreadCpuTime() - cpu_start;
    if (mode == Mode::kPauseOnly) {
      *complete = true;
      return true;
    }
    if (!snapshot.ok()) {
      last_error_ = snapshot.status();
      return false;
    }
    *complete = IsComplete(*snapshot, threads, options_.depth);
    return true;
  }

  Row Measure(Mode mode, int threads, int count) {
    Row row;
    row.threads = threads;
    row.mode = mode;
    std::vector<double> walls, cpus, stops;
    const uint64_t calls_before = memory_.calls(), bytes_before = memory_.bytes();
    for (int i = 0; i < count && !stop_requested; ++i) {
      Cost cost;
      bool complete = false;
      if (Sample(mode, &cost, &complete, threads)) {
        ++row.samples;
        row.complete += complete ? 1 : 0;
        walls.push_back(absl::ToDoubleMicroseconds(cost.wall));
        cpus.push_back(absl::ToDoubleMicroseconds(cost.cpu));
        stops.push_back(absl::ToDoubleMicroseconds(cost.stopped));
      } else {
        ++row.failed;
      }
      if (options_.gap > absl::ZeroDuration()) absl::SleepFor(options_.gap);
    }
    row.cost = Summarize(std::move(walls));
    row.cpu = Summarize(std::move(cpus));
    if (mode != Mode::kNonblocking) row.stopped = Summarize(std::move(stops));
    const double attempts = std::max(1, row.samples + row.failed);
    row.memory_calls = static_cast<double>(memory_.calls() - calls_before) / attempts;
    row.memory_kib = static_cast<double>(memory_.bytes() - bytes_before) / 1024 / attempts;
    return row;
  }

  const absl::Status& last_error() const { return last_error_; }

 private:
  const Options& options_;
  const PythonTarget& target_;
  CountingMemory& memory_;
  SnapshotTaker taker_;
  SnapshotTaker native_taker_;  // caches kept apart, as in a recording with --native
  SnapshotTaker native_all_taker_;
  absl::Status last_error_;
};

// Measures one interpreter at one thread count; appends a row per mode.
absl::Status RunOne(const Options& options, const std::string& python, int threads,
                    std::vector<Row>& rows) {
  absl::StatusOr<std::unique_ptr<Workload>> workload =
      Workload::Start(python, options.workload, threads, options.depth);
  if (!workload.ok()) return workload.status();
  const pid_t pid = (*workload)->pid();
  ProcessMemory process_memory(pid);
  absl::StatusOr<PythonTarget> target = LocatePython(pid, process_memory);
  if (!target.ok()) return target.status();
  CountingMemory memory(process_memory);
  ProcTaskReader tasks(pid, ProcTaskReader::Listing::kWhenCountChanges);  // as record does
  Bench bench(options, *target, memory, tasks);
  if (std::find(options.modes.begin(), options.modes.end(), Mode::kNative) != options.modes.end() ||
      std::find(options.modes.begin(), options.modes.end(), Mode::kNativeAll) !=
          options.modes.end()) {
    RETURN_IF_ERROR(bench.EnableNative());
  }
  for (Mode mode : options.modes) bench.Measure(mode, threads, options.warmup);
  for (Mode mode : options.modes) {
    Row row = bench.Measure(mode, threads, options.samples);
    if (stop_requested) return absl::CancelledError("interrupted");
    if (row.samples == 0) {
      return absl::UnavailableError(
          absl::StrCat("every sample failed: ", bench.last_error().message()));
    }
    row.python = python;
    row.version = target->version.text;
    rows.push_back(std::move(row));
  }
  return absl::OkStatus();
}

void PrintTable(const Options& options, const std::vector<Row>& rows) {
  std::cout << absl::StrFormat(
      "Cost of one sample (%d samples after %d warm-up, %s apart; stacks %d frames deep)\n\n",
      options.samples, options.warmup, absl::FormatDuration(options.gap), options.depth);
  std::cout << absl::StrFormat("%-9s %7s  %-11s %10s %10s %10s %10s %11s %9s %6s %6s %7s\n",
                               "python", "threads", "mode", "median µs", "p90 µs", "mean µs",
                               "cpu µs", "stopped µs", "complete", "failed", "reads", "KiB");
  std::string previous;
  for (const Row& row : rows) {
    if (row.python != previous) {
      std::cout << "# " << row.python << "\n";
      previous = row.python;
    }
    const std::string stopped = row.mode != Mode::kNonblocking
                                    ? absl::StrFormat("%.1f", row.stopped.median)
                                    : std::string("-");
    std::cout << absl::StrFormat(
        "%-9s %7d  %-11s %10.1f %10.1f %10.1f %10.1f %11s %8.1f%% %6d %6.1f %7.1f\n", row.version,
        row.threads, ModeName(row.mode), row.cost.median, row.cost.p90, row.cost.mean,
        row.cpu.median, stopped, 100.0 * row.complete / std::max(1, row.samples), row.failed,
        row.memory_calls, row.memory_kib);
  }
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void PrintJson(const Options& options, const std::vector<Row>& rows) {
  std::cout << "{\"samples\": " << options.samples << ", \"warmup\": " << options.warmup
            << ", \"gap_us\": " << absl::ToInt64Microseconds(options.gap)
            << ", \"depth\": " << options.depth << ", \"results\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    std::cout << (i ? ",\n  " : "\n  ")
              << absl::StrFormat(
                     "{\"python\": %s, \"version\": %s, \"threads\": %d, \"mode\": \"%s\", "
                     "\"samples\": %d, \"failed\": %d, \"complete\": %d, \"median_us\": %.2f, "
                     "\"p90_us\": %.2f, \"mean_us\": %.2f, \"cpu_median_us\": %.2f",
                     JsonString(row.python), JsonString(row.version), row.threads,
                     ModeName(row.mode), row.samples, row.failed, row.complete, row.cost.median,
                     row.cost.p90, row.cost.mean, row.cpu.median);
    if (row.mode != Mode::kNonblocking)
      std::cout << absl::StrFormat(", \"stopped_median_us\": %.2f", row.stopped.median);
    std::cout << absl::StrFormat(", \"memory_reads\": %.2f, \"memory_kib\": %.2f", row.memory_calls,
                                 row.memory_kib);
    std::cout << "}";
  }
  std::cout << "\n]}\n";
}

int Main(int argc, char** argv) {
  Options options;
  const std::string problem = ParseOptions(argc, argv, options);
  if (problem == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (!problem.empty()) {
    std::cerr << "gilscope_sample_bench: " << problem << "\n" << kUsage;
    return 2;
  }
  for (const std::string& python : options.pythons) {
    if (::access(python.c_str(), X_OK) != 0) {
      std::cerr << "gilscope_sample_bench: no Python interpreter at " << python << "\n";
      return 1;
    }
  }
  if (::access(options.workload.c_str(), R_OK) != 0) {
    std::cerr << "gilscope_sample_bench: no workload script at " << options.workload << "\n";
    return 1;
  }
  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(signal, &action, nullptr);

  std::vector<Row> rows;
  absl::Status status = absl::OkStatus();
  for (const std::string& python : options.pythons) {
    for (int threads : options.thread_counts) {
      status = RunOne(options, python, threads, rows);
      if (!status.ok()) {
        std::cerr << "gilscope_sample_bench: " << python << " with " << threads
                  << " threads: " << status.message() << "\n";
        break;
      }
    }
    if (!status.ok()) break;
  }
  // What was measured is shown even when a later run failed.
  if (rows.empty()) {
    // nothing to show
  } else if (options.json) {
    PrintJson(options, rows);
  } else {
    PrintTable(options, rows);
  }
  std::cout.flush();
  return status.ok() && std::cout ? 0 : 1;
}

}  // namespace
}  // namespace gilscope

int main(int argc, char** argv) { return gilscope::Main(argc, argv); }
