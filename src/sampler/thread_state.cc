#include "gilscope/sampler/thread_state.h"

#include <algorithm>

namespace gilscope {
namespace {

constexpr int64_t kFutexSyscall = 202;  // x86_64
// The kernel resuming a wait that a stop interrupted (ours: PTRACE_INTERRUPT): the thread's
// registers, so /proc's arguments, are still those of the futex call it resumes.
constexpr int64_t kRestartSyscall = 219;

}  // namespace

Classification ClassifyThread(bool holds_gil, const TaskActivity* activity, const GilState& gil,
                              const AddressRange& take_gil) {
  Classification result;
  if (holds_gil) result.state = ThreadState::kHoldingGil;
  if (activity == nullptr) return result;
  const TaskSyscall& syscall = activity->syscall;
  if (syscall.kind == TaskSyscall::Kind::kInSyscall) {
    // Only the futex word (argument 0) says what a thread waits on; other registers can point
    // into the GIL by chance. Every futex operation on the GIL counts, FUTEX_WAKE included: a
    // thread waking the next holder is inside the GIL's hand-off, time lost to the GIL, and
    // goes on to wait for the switch or to ask for the GIL again. A resumed futex wait counts
    // as the futex wait it is (argument 0 of no other resumed call lands in the GIL).
    const bool futex = syscall.number == kFutexSyscall || syscall.number == kRestartSyscall;
    const bool on_gil = futex && gil.IsWaitAddress(syscall.args[0]);
    result.in_counted_wait = futex && gil.IsCountedWaitAddress(syscall.args[0]);
    result.blocked_in = SyscallName(on_gil ? kFutexSyscall : syscall.number);
    if (holds_gil) {
      // The holder may itself be blocked: still the holder. On the GIL it is handing the GIL
      // over; any other system call it makes with the GIL held (a C call that sleeps).
      if (!on_gil) result.state = ThreadState::kHoldingGilInNative;
    } else {
      result.state = on_gil ? ThreadState::kWaitingForGil : ThreadState::kIdle;
    }
    return result;
  }
  result.runnable = true;
  if (holds_gil) return result;
  // Runnable. A woken waiter is inside the GIL's mutex or in take_gil() between its futex wait
  // and taking the lock; anything else runnable without the GIL runs native code.
  const bool taking_gil =
      (gil.mutex_owner != 0 && gil.mutex_owner == activity->tid) ||
      (syscall.kind == TaskSyscall::Kind::kUserSpace && take_gil.Contains(syscall.program_counter));
  result.state = taking_gil ? ThreadState::kWaitingForGil : ThreadState::kRunningWithoutGil;
  return result;
}

ThreadState RefineWithStacks(ThreadState state, const StackSignals& signals) {
  const NativeLeaf* leaf = signals.leaf;
  if (state == ThreadState::kHoldingGil) {
    bool in_native;
    if (leaf != nullptr) {
      // Native frames below the eval loop are C code the thread runs now. Inside the
      // interpreter's own object they count only under a call instruction: the loop's own
      // helpers (a dict lookup, an allocation) are how bytecode runs, not a C call.
      in_native = leaf->frames > 0 && (!signals.has_python_frames || leaf->outside_interpreter ||
                                       signals.innermost_calls_native);
    } else {
      in_native = signals.has_python_frames && signals.innermost_calls_native;
    }
    return in_native ? ThreadState::kHoldingGilInNative : state;
  }
  if (state == ThreadState::kRunningWithoutGil) {
    if (leaf != nullptr && leaf->taking_gil) return ThreadState::kWaitingForGil;
    // Bytecode needs the GIL, and at the eval breaker the loop runs no C code that could have
    // released it: a thread found there without it is dropping or taking the GIL. (A woken
    // waiter is runnable; unpaused, /proc gives no registers to find take_gil by.)
    if (signals.has_python_frames && signals.innermost_at_eval_breaker) {
      return ThreadState::kWaitingForGil;
    }
  }
  return state;
}

std::vector<ThreadState> PlaceByCountedWaits(const CountedWaits& waits,
                                             const std::vector<UnplacedAt>& threads) {
  const int unseen_waiters =
      std::max(0, waits.counted_waiters - waits.blocked - waits.runnable_waiting);
  const int outside_calls = static_cast<int>(std::count_if(
      threads.begin(), threads.end(), [](UnplacedAt at) { return at != UnplacedAt::kCall; }));
  std::vector<ThreadState> states;
  for (UnplacedAt at : threads) {
    if (unseen_waiters == 0) {
      states.push_back(at == UnplacedAt::kEvalBreaker ? ThreadState::kUnknown
                                                      : ThreadState::kRunningWithoutGil);
    } else if (unseen_waiters >= static_cast<int>(threads.size())) {
      states.push_back(ThreadState::kWaitingForGil);
    } else if (outside_calls == unseen_waiters) {
      states.push_back(at == UnplacedAt::kCall ? ThreadState::kRunningWithoutGil
                                               : ThreadState::kWaitingForGil);
    } else {
      states.push_back(ThreadState::kUnknown);
    }
  }
  return states;
}

}  // namespace gilscope
