// Unwinds a stopped thread's native (C/C++) stack with libunwind's remote interface and names
// each frame from the ELF symbol tables of the objects mapped in the target.
#ifndef GILSCOPE_NATIVE_NATIVE_UNWINDER_H_
#define GILSCOPE_NATIVE_NATIVE_UNWINDER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

// Deeper native stacks are cut here and reported as truncated.
inline constexpr int kMaxNativeFrames = 1024;

struct NativeFrame {
  uint64_t ip = 0;           // the program counter (innermost) or a return address
  std::string function;      // demangled symbol name; empty when no symbol covers `ip`
  std::string object;        // path of the mapped ELF object; empty for anonymous code (JIT)
  uint64_t object_offset = 0;  // function start (or `ip` when unknown) minus the object's load bias
  bool in_interpreter = false;  // inside the ELF object that holds CPython's runtime
};

struct NativeStack {
  std::vector<NativeFrame> frames;  // innermost first
  std::string error;  // why unwinding stopped before the outermost frame, if it did
};

// x86_64 general registers of a stopped thread, as PTRACE_GETREGS gives them.
struct ThreadRegisters {
  uint64_t rip = 0, rsp = 0, rbp = 0, rbx = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  uint64_t rax = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, r8 = 0, r9 = 0, r10 = 0, r11 = 0;
};

class NativeUnwinder {
 public:
  // `memory` reads the target (the sampler passes its per-sample page cache) and must outlive
  // the unwinder; `interpreter_object` is the path of the ELF object holding CPython's runtime.
  static absl::StatusOr<std::unique_ptr<NativeUnwinder>> Create(pid_t pid, RemoteMemory& memory,
                                                                std::string interpreter_object);
  virtual ~NativeUnwinder() = default;

  // Unwinds thread `tid`, which must be in a ptrace stop of this process. Fails when its
  // registers cannot be read (thread gone, not stopped); a stack cut short by missing or bad
  // unwind info, a loop or kMaxNativeFrames comes back with what was unwound and `error` set.
  virtual absl::StatusOr<NativeStack> Unwind(pid_t tid) = 0;

  // Unwinds from given registers: the part of Unwind() after reading them, for tests.
  virtual NativeStack UnwindFrom(const ThreadRegisters& registers) = 0;
};

}  // namespace gilscope

#endif  // GILSCOPE_NATIVE_NATIVE_UNWINDER_H_
