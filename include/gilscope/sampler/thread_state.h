// What a thread is doing with respect to the GIL at one instant, decided from the GIL's state
// and what /proc says the thread is doing. A pure function, so every rule is unit tested.
#ifndef GILSCOPE_SAMPLER_THREAD_STATE_H_
#define GILSCOPE_SAMPLER_THREAD_STATE_H_

#include <string>

#include "gilscope/proc/task_reader.h"
#include "gilscope/walkers/gil_reader.h"

namespace gilscope {

enum class ThreadState {
  kHoldingGil,         // owns the GIL: runs Python (or C code that kept the GIL)
  kWaitingForGil,      // blocked, or spinning, to take the GIL
  kRunningWithoutGil,  // on a CPU (or runnable) without the GIL: native code that released it
  kIdle,               // blocked in a syscall for something else: I/O, sleep, another lock
  kUnknown,            // the OS told us nothing (thread gone, or its id unknown)
};

// "holding_gil", "waiting_for_gil", "running_without_gil", "idle", "unknown".
const char* ThreadStateName(ThreadState state);
// The coarse JSON "gil" value: "held", "waiting" or "released".
const char* GilRoleName(ThreadState state);

struct Classification {
  ThreadState state = ThreadState::kUnknown;
  std::string blocked_in;  // the syscall a waiting or idle thread sits in ("futex", "read")
};

// `activity` is null when the thread's /proc entry could not be read.
Classification ClassifyThread(bool holds_gil, const TaskActivity* activity, const GilState& gil,
                              const AddressRange& take_gil);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_THREAD_STATE_H_
