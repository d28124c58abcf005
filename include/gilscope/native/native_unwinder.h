// Unwinds a stopped thread's native (C/C++) stack with libunwind's remote interface and names
// each frame from the ELF symbol tables of the objects mapped in the target.
//
// libunwind runs over gilscope's own accessors, not libunwind-ptrace's: target memory comes
// through the RemoteMemory given to Create (the sampler's per-sample page cache, so a stack is
// a few batched reads rather than one PTRACE_PEEKDATA per word), registers are read once per
// thread, and each mapped object's unwind table is located once and kept, where _UPT_* re-reads
// /proc/PID/maps and re-maps the ELF file whenever the unwind moves to another object.
#ifndef GILSCOPE_NATIVE_NATIVE_UNWINDER_H_
#define GILSCOPE_NATIVE_NATIVE_UNWINDER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/elf/elf_file.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/native/mapped_objects.h"

namespace gilscope {

// Deeper native stacks are cut here and reported as truncated.
inline constexpr int kMaxNativeFrames = 1024;

struct NativeFrame {
  uint64_t ip = 0;             // the program counter (innermost) or a return address
  std::string function;        // demangled symbol name; empty when no symbol covers `ip`
  std::string object;          // path of the mapped ELF object; empty for anonymous code (JIT)
  uint64_t object_offset = 0;  // function start (or `ip` when unknown) minus the object's load bias
  bool in_interpreter = false;  // inside the ELF object that holds CPython's runtime
};

struct NativeStack {
  std::vector<NativeFrame> frames;  // innermost first
  std::string error;                // why unwinding stopped before the outermost frame, if it did
};

// x86_64 general registers of a stopped thread, as PTRACE_GETREGS gives them.
struct ThreadRegisters {
  uint64_t rip = 0, rsp = 0, rbp = 0, rbx = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  uint64_t rax = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, r8 = 0, r9 = 0, r10 = 0, r11 = 0;
};

struct NativeUnwinderOptions {
  // Reads the text of the target's /proc/PID/maps; empty: that file. Tests give made-up maps.
  std::function<absl::StatusOr<std::string>()> read_maps;
  // Where separate debug files are looked up by build id (see MappedObjects); empty: nowhere.
  std::string debug_root = kSystemDebugRoot;
};

// Counters since Create, for tests and measurement.
struct NativeUnwinderStats {
  uint64_t unwinds = 0;
  uint64_t frames = 0;
  uint64_t table_searches = 0;  // libunwind asked for unwind info (missed its own cache)
  uint64_t maps_reads = 0;      // /proc/PID/maps read (once in Create, then on unknown ips)
  uint64_t files_read = 0;      // ELF objects read
  uint64_t cache_flushes = 0;   // libunwind's cache dropped because the mappings changed
};

// Not thread-safe: one unwinder serves one sampling thread.
class NativeUnwinder {
 public:
  // `memory` reads the target (the sampler passes its per-sample page cache) and must outlive
  // the unwinder; `interpreter_object` is the path of the ELF object holding CPython's runtime
  // (as /proc/PID/maps names it; the same file under another name is recognised by inode).
  // Reads /proc/PID/maps: fails with its error (NotFound: process gone; PermissionDenied).
  static absl::StatusOr<std::unique_ptr<NativeUnwinder>> Create(pid_t pid, RemoteMemory& memory,
                                                                std::string interpreter_object,
                                                                NativeUnwinderOptions options = {});
  virtual ~NativeUnwinder() = default;

  // Unwinds thread `tid`, which must be in a ptrace stop of this process. Fails when its
  // registers cannot be read: NotFound when the thread exited (or is not stopped by this
  // process). A stack cut short by missing or bad unwind info, a frame in no executable
  // mapping, a loop (a frame repeating, the stack pointer going down) or kMaxNativeFrames comes
  // back with what was unwound and `error` set.
  // An ip in no known mapping makes it read /proc/PID/maps again (a library loaded since), at
  // most once per call.
  virtual absl::StatusOr<NativeStack> Unwind(pid_t tid) = 0;

  // Unwinds from given registers: the part of Unwind() after reading them, for tests.
  virtual NativeStack UnwindFrom(const ThreadRegisters& registers) = 0;

  virtual NativeUnwinderStats stats() const { return {}; }
  // The ELF objects read so far to name frames (see MappedObjects::identities).
  virtual std::vector<ObjectIdentity> ObjectsRead() const { return {}; }
};

// Makes an unwinder with Create's arguments: the sampler takes one so tests can give their own
// (a live one needs ptrace stops to read registers).
using NativeUnwinderFactory = std::function<absl::StatusOr<std::unique_ptr<NativeUnwinder>>(
    pid_t pid, RemoteMemory& memory, std::string interpreter_object)>;

}  // namespace gilscope

#endif  // GILSCOPE_NATIVE_NATIVE_UNWINDER_H_
