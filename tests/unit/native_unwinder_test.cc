// NativeUnwinder on real stopped processes (native_target, with and without its symbol table;
// a real Python when installed) and on made-up registers and stacks: garbage, loops, depth.
#include "gilscope/native/native_unwinder.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gilscope/elf/elf_file.h"
#include "gilscope/memory/page_cache.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/proc/proc_parsers.h"
#include "gilscope/proc/process_pause.h"
#include "gilscope/proc/task_reader.h"

namespace gilscope {
namespace {

constexpr char kLibc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";
constexpr char kPython312[] = "/root/.pyenv/versions/3.12.1/bin/python";

// A child process started from `argv`, whose stdout is read until it prints "ready".
// Killed when this goes away.
class Target {
 public:
  explicit Target(const std::vector<std::string>& argv) {
    int out[2];
    if (::pipe(out) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a test run that dies
      ::dup2(out[1], 1);
      std::vector<char*> args;
      for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string seen;
    pollfd poll_fd{out[0], POLLIN, 0};
    while (seen.find("ready\n") == std::string::npos && ::poll(&poll_fd, 1, 20000) == 1) {
      char buffer[256];
      const ssize_t n = ::read(out[0], buffer, sizeof(buffer));
      if (n <= 0) break;
      seen.append(buffer, n);
    }
    ::close(out[0]);
    ready_ = seen.find("ready\n") != std::string::npos;
  }
  ~Target() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }

  // Waits until thread `tid` sleeps (state S), up to a few seconds.
  bool WaitAsleep(pid_t tid) const {
    for (int i = 0; i < 500; ++i) {
      absl::StatusOr<std::string> text =
          ReadProcFile(absl::StrFormat("/proc/%d/task/%d/stat", pid_, tid));
      if (text.ok()) {
        absl::StatusOr<TaskStat> stat = ParseStat(*text);
        if (stat.ok() && stat->state == 'S') return true;
      }
      ::usleep(10000);
    }
    return false;
  }
  std::vector<pid_t> Threads() const {
    ProcTaskReader reader(pid_);
    absl::StatusOr<std::vector<pid_t>> tids = reader.ListThreads();
    return tids.ok() ? *tids : std::vector<pid_t>{};
  }

 private:
  pid_t pid_ = 0;
  bool ready_ = false;
};

std::string Describe(const NativeStack& stack) {
  std::vector<std::string> lines;
  for (const NativeFrame& frame : stack.frames) {
    lines.push_back(absl::StrFormat("  %#x %s [%s+%#x]%s", frame.ip, frame.function, frame.object,
                                    frame.object_offset,
                                    frame.in_interpreter ? " (interpreter)" : ""));
  }
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n  error: ", stack.error);
}

ElfSymbol SymbolOf(const std::string& path, const char* name) {
  absl::StatusOr<ElfFile> elf = ElfFile::Open(path);
  if (!elf.ok()) std::abort();
  std::optional<ElfSymbol> symbol = elf->FindSymbol(name);
  if (!symbol) std::abort();
  return *symbol;
}

// The stacks of native_target's two threads, unwound while it is paused.
struct TargetStacks {
  NativeStack main;
  NativeStack spinner;
  NativeUnwinderStats stats;
  uint64_t base = 0;  // where the executable's first page is: its load bias (a PIE)
};

TargetStacks UnwindTarget(Target& target, const std::string& interpreter);

TargetStacks UnwindTarget(const std::string& binary, const std::string& interpreter) {
  Target target({binary});
  return UnwindTarget(target, interpreter);
}

TargetStacks UnwindTarget(Target& target, const std::string& interpreter) {
  EXPECT_TRUE(target.ready());
  EXPECT_TRUE(target.WaitAsleep(target.pid()));
  std::vector<pid_t> tids = target.Threads();
  EXPECT_EQ(tids.size(), 2u);
  const pid_t spinner = tids.size() == 2 ? (tids[0] == target.pid() ? tids[1] : tids[0]) : 0;

  TargetStacks stacks;
  absl::StatusOr<std::string> maps_text =
      ReadProcFile(absl::StrFormat("/proc/%d/maps", target.pid()));
  absl::StatusOr<std::vector<MemoryMapping>> maps = ParseMaps(maps_text.ok() ? *maps_text : "");
  EXPECT_TRUE(maps.ok());
  char exe[4096] = {};
  EXPECT_GT(::readlink(absl::StrFormat("/proc/%d/exe", target.pid()).c_str(), exe, sizeof(exe) - 1),
            0);
  const std::string executable(absl::StripSuffix(exe, " (deleted)"));
  for (const MemoryMapping& mapping : maps.ok() ? *maps : std::vector<MemoryMapping>{}) {
    if (mapping.path == executable && mapping.file_offset == 0) {
      stacks.base = mapping.start;
      break;
    }
  }
  ProcessMemory memory(target.pid());
  absl::StatusOr<std::unique_ptr<NativeUnwinder>> unwinder =
      NativeUnwinder::Create(target.pid(), memory, interpreter);
  EXPECT_TRUE(unwinder.ok()) << unwinder.status();
  if (!unwinder.ok()) return stacks;
  {
    absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(target.pid());
    EXPECT_TRUE(pause.ok()) << pause.status();
    if (!pause.ok()) return stacks;
    absl::StatusOr<NativeStack> main = (*unwinder)->Unwind(target.pid());
    EXPECT_TRUE(main.ok()) << main.status();
    if (main.ok()) stacks.main = *main;
    absl::StatusOr<NativeStack> spin = (*unwinder)->Unwind(spinner);
    EXPECT_TRUE(spin.ok()) << spin.status();
    if (spin.ok()) stacks.spinner = *spin;
  }
  // Let go: its registers cannot be read any more.
  absl::StatusOr<NativeStack> after = (*unwinder)->Unwind(target.pid());
  EXPECT_TRUE(absl::IsNotFound(after.status())) << after.status();
  stacks.stats = (*unwinder)->stats();
  return stacks;
}

// Index of the first frame named `name` at or after `from`, or -1.
int FindFrame(const NativeStack& stack, const std::string& name, size_t from = 0) {
  for (size_t i = from; i < stack.frames.size(); ++i) {
    if (stack.frames[i].function == name) return static_cast<int>(i);
  }
  return -1;
}

TEST(NativeUnwinderTest, NamesEveryFrameOfASymbolizedTarget) {
  const std::string binary = GILSCOPE_NATIVE_TARGET;
  TargetStacks stacks = UnwindTarget(binary, "/no/such/libpython.so");

  // GIVEN main -> outer -> middle -> inner -> pause, THEN innermost first, libc around them.
  const NativeStack& main = stacks.main;
  SCOPED_TRACE(Describe(main));
  EXPECT_EQ(main.error, "");
  ASSERT_GE(main.frames.size(), 7u);
  EXPECT_EQ(main.frames[0].function, "pause");  // the syscall wrapper, named from libc's .dynsym
  EXPECT_EQ(main.frames[0].object, kLibc);
  const char* expected[] = {"gilscope_test::Outer::inner(int)", "middle(int)", "outer()", "main"};
  const char* mangled[] = {"_ZN13gilscope_test5Outer5innerEi", "_Z6middlei", "_Z5outerv", "main"};
  for (int i = 0; i < 4; ++i) {
    const NativeFrame& frame = main.frames[i + 1];
    EXPECT_EQ(frame.function, expected[i]);
    EXPECT_EQ(frame.object, binary);
    const ElfSymbol symbol = SymbolOf(binary, mangled[i]);
    EXPECT_EQ(frame.object_offset, symbol.address) << expected[i];
  }
  // middle's call is its last instruction: its return address is outer's first byte.
  const ElfSymbol middle = SymbolOf(binary, "_Z6middlei");
  EXPECT_EQ(main.frames[2].ip, stacks.base + middle.address + middle.size);
  // Below main: libc's start-up (__libc_start_call_main is static, so unnamed but in libc),
  // then __libc_start_main, then _start in the executable.
  const int start_main = FindFrame(main, "__libc_start_main", 5);
  ASSERT_GT(start_main, 4);
  EXPECT_EQ(main.frames[start_main].object, kLibc);
  EXPECT_EQ(main.frames[5].object, kLibc);
  EXPECT_EQ(main.frames.back().function, "_start");
  for (const NativeFrame& frame : main.frames) EXPECT_FALSE(frame.in_interpreter);

  const NativeStack& spinner = stacks.spinner;
  SCOPED_TRACE(Describe(spinner));
  EXPECT_EQ(spinner.error, "");
  ASSERT_GE(spinner.frames.size(), 3u);
  EXPECT_EQ(spinner.frames[0].function, "native_target_spin");
  EXPECT_EQ(spinner.frames[1].function, "(anonymous namespace)::SpinnerMain(void*)");
  for (size_t i = 2; i < spinner.frames.size(); ++i) {
    EXPECT_EQ(spinner.frames[i].object, kLibc) << i;  // start_thread, clone3
  }
  // One read of the maps (in Create), the three objects read once each.
  EXPECT_EQ(stacks.stats.maps_reads, 1u);
  EXPECT_EQ(stacks.stats.unwinds, 2u);
}

TEST(NativeUnwinderTest, StrippedTargetGivesObjectAndFunctionOffsets) {
  const std::string binary = GILSCOPE_NATIVE_TARGET_STRIPPED;
  const std::string symbolized = GILSCOPE_NATIVE_TARGET;
  TargetStacks stacks = UnwindTarget(binary, "");

  const NativeStack& main = stacks.main;
  SCOPED_TRACE(Describe(main));
  EXPECT_EQ(main.error, "");
  ASSERT_GE(main.frames.size(), 7u);
  EXPECT_EQ(main.frames[0].function, "pause");
  // Unnamed, not named after a neighbour: the object and the function's start (from its FDE),
  // the same for every sample in the function.
  const char* mangled[] = {"_ZN13gilscope_test5Outer5innerEi", "_Z6middlei", "_Z5outerv", "main"};
  for (int i = 0; i < 4; ++i) {
    const NativeFrame& frame = main.frames[i + 1];
    EXPECT_EQ(frame.function, "") << mangled[i];
    EXPECT_EQ(frame.object, binary);
    EXPECT_EQ(frame.object_offset, SymbolOf(symbolized, mangled[i]).address) << mangled[i];
  }
  EXPECT_GT(FindFrame(main, "__libc_start_main"), 4);

  const NativeStack& spinner = stacks.spinner;
  SCOPED_TRACE(Describe(spinner));
  EXPECT_EQ(spinner.error, "");
  ASSERT_GE(spinner.frames.size(), 3u);
  // Exported (.dynsym): still named.
  EXPECT_EQ(spinner.frames[0].function, "native_target_spin");
  EXPECT_EQ(spinner.frames[1].function, "");
  EXPECT_EQ(spinner.frames[1].object_offset,
            SymbolOf(symbolized, "_ZN12_GLOBAL__N_111SpinnerMainEPv").address);
}

TEST(NativeUnwinderTest, UnwindsThroughASignalHandler) {
  Target target({GILSCOPE_NATIVE_TARGET, "--signal"});
  TargetStacks stacks = UnwindTarget(target, "");
  const NativeStack& spinner = stacks.spinner;
  SCOPED_TRACE(Describe(spinner));
  EXPECT_EQ(spinner.error, "");
  ASSERT_GE(spinner.frames.size(), 6u);
  EXPECT_EQ(spinner.frames[0].function, "pause");
  EXPECT_EQ(spinner.frames[1].function, "(anonymous namespace)::HandleSignal(int)");
  EXPECT_EQ(spinner.frames[2].object, kLibc);  // __restore_rt, the signal return trampoline
  // The interrupted frame: its exact ip, not a return address.
  EXPECT_EQ(spinner.frames[3].function, "native_target_spin");
  EXPECT_EQ(spinner.frames[4].function, "(anonymous namespace)::SpinnerMain(void*)");
}

TEST(NativeUnwinderTest, InterpreterObjectIsRecognisedByInode) {
  // /lib is a symlink to /usr/lib on Debian: another name for the libc the maps show.
  const std::string other_name = "/lib/x86_64-linux-gnu/libc.so.6";
  TargetStacks stacks = UnwindTarget(GILSCOPE_NATIVE_TARGET, other_name);
  SCOPED_TRACE(Describe(stacks.main));
  ASSERT_GE(stacks.main.frames.size(), 6u);
  for (const NativeFrame& frame : stacks.main.frames) {
    EXPECT_EQ(frame.in_interpreter, frame.object == kLibc) << frame.function;
  }
}

TEST(NativeUnwinderTest, DeletedExecutableIsStillSymbolized) {
  // An upgrade replaced or removed the file while the program runs: the mapped file is still
  // read, through /proc/PID/map_files (as root), or the frames stay unnamed, never misnamed.
  char directory[] = "/tmp/native_unwinder_test.XXXXXX";
  ASSERT_NE(::mkdtemp(directory), nullptr);
  const std::string copy = absl::StrCat(directory, "/native_target");
  {
    std::ifstream in(GILSCOPE_NATIVE_TARGET, std::ios::binary);
    std::ofstream out(copy, std::ios::binary);
    out << in.rdbuf();
  }
  ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
  Target target({copy});
  ASSERT_EQ(::unlink(copy.c_str()), 0);
  ::rmdir(directory);
  TargetStacks stacks = UnwindTarget(target, "");
  SCOPED_TRACE(Describe(stacks.main));
  ASSERT_GE(stacks.main.frames.size(), 5u);
  EXPECT_EQ(stacks.main.error, "");
  EXPECT_EQ(stacks.main.frames[1].object, copy);
  const bool can_open_map_files = ::geteuid() == 0;
  if (can_open_map_files) {
    EXPECT_EQ(stacks.main.frames[1].function, "gilscope_test::Outer::inner(int)");
    EXPECT_EQ(stacks.main.frames[2].function, "middle(int)");
  } else {
    EXPECT_EQ(stacks.main.frames[1].function, "");
  }
}

// --- A real Python ---

// CPU time of the calling thread: steadier than wall time on a loaded machine.
double ThreadCpuMicros() {
  timespec now;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

TEST(NativeUnwinderTest, PythonStackAndCost) {
  if (::access(kPython312, X_OK) != 0) GTEST_SKIP() << kPython312 << " is not installed";
  // A Python thread spinning in Python code called back from C (sorted's key function), so the
  // native stack holds the interpreter twice.
  const std::string script =
      "import sys\n"
      "def spin(x):\n"
      "    while True: pass\n"
      "def f(n):\n"
      "    return f(n - 1) if n else sorted([1, 2], key=spin)\n"
      "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
      "f(5)\n";
  Target target({kPython312, "-c", script});
  ASSERT_TRUE(target.ready());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // into spin()

  std::string libpython;
  absl::StatusOr<std::string> maps_text =
      ReadProcFile(absl::StrFormat("/proc/%d/maps", target.pid()));
  ASSERT_TRUE(maps_text.ok());
  absl::StatusOr<std::vector<MemoryMapping>> maps = ParseMaps(*maps_text);
  ASSERT_TRUE(maps.ok());
  for (const MemoryMapping& mapping : *maps) {
    if (absl::StrContains(mapping.path, "libpython3.12")) libpython = mapping.path;
  }
  ASSERT_NE(libpython, "");

  using Clock = std::chrono::steady_clock;
  auto micros = [](Clock::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
  };
  ProcessMemory process(target.pid());
  PageCache memory(process);
  const auto create_start = Clock::now();
  absl::StatusOr<std::unique_ptr<NativeUnwinder>> unwinder =
      NativeUnwinder::Create(target.pid(), memory, libpython);
  const double create_us = micros(Clock::now() - create_start);
  ASSERT_TRUE(unwinder.ok()) << unwinder.status();

  absl::StatusOr<std::unique_ptr<ProcessPause>> pause = ProcessPause::Pause(target.pid());
  ASSERT_TRUE(pause.ok()) << pause.status();
  memory.Clear();
  const auto first_start = Clock::now();
  absl::StatusOr<NativeStack> first = (*unwinder)->Unwind(target.pid());
  const double first_us = micros(Clock::now() - first_start);
  ASSERT_TRUE(first.ok()) << first.status();
  const NativeUnwinderStats after_first = (*unwinder)->stats();

  // Samples: a fresh page cache each time, as the sampler clears it per sample.
  constexpr int kSamples = 2000;
  const auto cached_start = Clock::now();
  NativeStack last;
  for (int i = 0; i < kSamples; ++i) {
    memory.Clear();
    absl::StatusOr<NativeStack> stack = (*unwinder)->Unwind(target.pid());
    ASSERT_TRUE(stack.ok());
    if (i == kSamples - 1) last = *std::move(stack);
  }
  const double cached_us = micros(Clock::now() - cached_start) / kSamples;
  // And with the pages already cached (a second thread of the same sample shares pages).
  const auto warm_start = Clock::now();
  const double warm_cpu_start = ThreadCpuMicros();
  for (int i = 0; i < kSamples; ++i) ASSERT_TRUE((*unwinder)->Unwind(target.pid()).ok());
  const double warm_us = micros(Clock::now() - warm_start) / kSamples;
  const double warm_cpu_us = (ThreadCpuMicros() - warm_cpu_start) / kSamples;
  const NativeUnwinderStats stats = (*unwinder)->stats();

  SCOPED_TRACE(Describe(*first));
  EXPECT_EQ(first->error, "");
  EXPECT_EQ(first->frames.size(), last.frames.size());
  int eval_frames = 0;
  for (const NativeFrame& frame : first->frames) {
    if (frame.function == "_PyEval_EvalFrameDefault") {
      ++eval_frames;
      EXPECT_TRUE(frame.in_interpreter);
      EXPECT_EQ(frame.object, libpython);
    }
    if (frame.object == libpython) {
      EXPECT_TRUE(frame.in_interpreter);
    }
  }
  EXPECT_EQ(eval_frames, 2);  // f's frames, then spin's under sorted()
  EXPECT_GE(FindFrame(*first, "Py_BytesMain"), 0);
  EXPECT_GE(FindFrame(*first, "__libc_start_main"), 0);
  // Cached: libunwind's rule cache answers, no table searched in later samples, no file read.
  EXPECT_EQ(stats.table_searches, after_first.table_searches);
  EXPECT_EQ(stats.files_read, after_first.files_read);
  EXPECT_EQ(stats.maps_reads, 1u);

  std::printf(
      "python 3.12 thread, %zu frames: Create %.0f us (reads the maps), first unwind %.1f us "
      "(reads %llu ELF files, %llu table searches), later unwinds %.1f us with a fresh page "
      "cache, %.1f us with pages cached (%.2f us/frame; %.1f us of CPU)\n",
      first->frames.size(), create_us, first_us,
      static_cast<unsigned long long>(after_first.files_read),
      static_cast<unsigned long long>(after_first.table_searches), cached_us, warm_us,
      warm_us / first->frames.size(), warm_cpu_us);
  std::printf("page cache: %llu pages fetched in %llu reads over %d samples\n",
              static_cast<unsigned long long>(memory.pages_fetched()),
              static_cast<unsigned long long>(memory.backing_reads()), 2 * kSamples + 1);
}

}  // namespace
}  // namespace gilscope
