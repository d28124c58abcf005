// How a thread's state (sample/thread_state.h) is decided from the GIL's state and what /proc
// says the thread is doing. Pure functions, so every rule is unit tested.
#ifndef GILSCOPE_SAMPLER_THREAD_STATE_H_
#define GILSCOPE_SAMPLER_THREAD_STATE_H_

#include <string>
#include <vector>

#include "gilscope/proc/task_reader.h"
#include "gilscope/sample/thread_state.h"
#include "gilscope/sampler/stack_merge.h"
#include "gilscope/walkers/gil_reader.h"

namespace gilscope {

struct Classification {
  ThreadState state = ThreadState::kUnknown;
  std::string blocked_in;        // the syscall a waiting or idle thread sits in ("futex", "read")
  bool runnable = false;         // not in a system call: on a CPU, or waiting for one
  bool in_counted_wait = false;  // blocked in one of the waits GilState::counted_waiters counts
};

// `activity` is null when the thread's /proc entry could not be read. A holder comes back as
// kHoldingGilInNative when it sits in a system call, else kHoldingGil; RefineWithStacks says more.
Classification ClassifyThread(bool holds_gil, const TaskActivity* activity, const GilState& gil,
                              const AddressRange& take_gil);

// What a thread's stacks say about its state, beyond the GIL and /proc.
struct StackSignals {
  bool has_python_frames = false;
  // The innermost Python frame is executing a call instruction that can run C code: the
  // thread is inside that call unless a deeper Python frame exists (cheap: no unwinding).
  bool innermost_calls_native = false;
  // The innermost Python frame is at an instruction where the loop checks its eval breaker
  // and runs no C code of its own (PythonLayout::eval_breaker_opcodes).
  bool innermost_at_eval_breaker = false;
  // With native stacks: the native frames inner to the innermost eval-loop frame; null when
  // the native stack was not read. Known native frames overrule the cheap signal.
  const NativeLeaf* leaf = nullptr;
};

// A holder is moved to kHoldingGilInNative when it runs a C function called from Python (or
// native code with no Python frame at all); a runnable thread without the GIL whose native
// stack shows CPython taking the GIL, or whose innermost frame is at the eval breaker, is moved
// to kWaitingForGil.
ThreadState RefineWithStacks(ThreadState state, const StackSignals& signals);

// One GIL's waiters as glibc counts them, against what /proc showed.
struct CountedWaits {
  int counted_waiters = 0;   // GilState::counted_waiters
  int blocked = 0;           // its threads seen blocked in those waits
  int runnable_waiting = 0;  // its runnable threads already known to wait (take_gil, eval breaker)
};

// Where an unplaced thread's innermost frame is (see PlaceByCountedWaits).
enum class UnplacedAt {
  kCall,         // in a call instruction that can run C code: native code, most likely
  kEvalBreaker,  // 2.7-3.9: after an instruction the loop may check its eval breaker after
  kOtherOpcode,  // 3.10+: where only a C slot function (a + b on arrays) can have let go
};

// The runnable threads of one GIL that nothing but the default filed as running without it
// (no native stack, not at an eval breaker opcode): a woken waiter that has not run yet looks
// the same to /proc. Waits glibc counts that /proc did not show blocked (or known to wait) are
// such waiters. None: every such thread runs native code, except where a dropper of the GIL
// that has not run since its wake-up could also sit (kEvalBreaker: unknown). As many as the
// threads: all wait. Else, when exactly that many are outside call instructions (a waiter sits
// at the eval breaker or in take_gil; native code is called), those wait and the rest run;
// else which is which cannot be told: kUnknown for all. Returns a state per thread.
std::vector<ThreadState> PlaceByCountedWaits(const CountedWaits& waits,
                                             const std::vector<UnplacedAt>& threads);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_THREAD_STATE_H_
