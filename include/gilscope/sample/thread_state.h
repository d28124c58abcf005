// What a thread is doing with respect to the GIL at one instant: the data and its names. How a
// state is decided from the GIL and /proc is the sampler's (sampler/thread_state.h).
#ifndef GILSCOPE_SAMPLE_THREAD_STATE_H_
#define GILSCOPE_SAMPLE_THREAD_STATE_H_

namespace gilscope {

enum class ThreadState {
  kHoldingGil,          // owns the GIL and runs Python bytecode
  kHoldingGilInNative,  // owns the GIL while in native code: a C function called from Python,
                        // or a system call made without releasing the GIL
  kWaitingForGil,       // blocked, or spinning, to take the GIL
  kRunningWithoutGil,   // on a CPU (or runnable) without the GIL: native code that released it
  kIdle,                // blocked in a syscall for something else: I/O, sleep, another lock
  kUnknown,             // the OS told us nothing (thread gone, or its id unknown)
};

inline bool HoldsGil(ThreadState state) {
  return state == ThreadState::kHoldingGil || state == ThreadState::kHoldingGilInNative;
}

// "holding_gil", "holding_gil_in_native", "waiting_for_gil", "running_without_gil", "idle",
// "unknown".
const char* ThreadStateName(ThreadState state);
// The coarse JSON "gil" value: "held", "waiting" or "released".
const char* GilRoleName(ThreadState state);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLE_THREAD_STATE_H_
