// A target with known native stacks, for the native unwinder's tests. Built with -O0
// -fno-omit-frame-pointer, in two variants: with its symbol table, and stripped (only
// native_target_spin, exported with --export-dynamic-symbol, keeps a name, through .dynsym).
//
//   main thread:    main -> outer() -> middle(int) -> gilscope_test::Outer::inner(int) -> pause()
//   spinner thread: (libc's thread start) -> SpinnerMain -> native_target_spin, on the CPU
//   with --signal, the spinner is then interrupted by SIGUSR1, whose handler sleeps:
//                   ... native_target_spin -> (libc's __restore_rt) -> HandleSignal -> pause()
//
// Prints "ready" once the spinner spins and just before the main thread calls pause(); the
// test then waits for the main thread to be asleep. Runs until killed.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

std::atomic<bool> spinning{false};
std::atomic<bool> in_handler{false};

__attribute__((noinline)) void HandleSignal(int) {
  in_handler.store(true);
  while (true) ::pause();
}

}  // namespace

// The exported function: named even in the stripped variant.
extern "C" __attribute__((noinline)) void native_target_spin(volatile uint64_t* counter) {
  spinning.store(true);
  while (true) *counter = *counter + 1;
}

namespace {

// A static function: no name at all once stripped.
__attribute__((noinline)) void* SpinnerMain(void*) {
  volatile uint64_t counter = 0;
  native_target_spin(&counter);
  return nullptr;
}

}  // namespace

namespace gilscope_test {

struct Outer {
  [[noreturn]] __attribute__((noinline)) static void inner(int depth) {
    static const char kReady[] = "ready\n";
    if (depth != 2 ||
        ::write(1, kReady, sizeof(kReady) - 1) != static_cast<ssize_t>(sizeof(kReady) - 1)) {
      std::abort();
    }
    while (true) ::pause();
  }
};

}  // namespace gilscope_test

// Its call to the [[noreturn]] inner() is its last instruction, so the return address is the
// first byte of the next function, outer(): only a lookup at return address - 1 names it right.
[[noreturn]] __attribute__((noinline)) void middle(int depth) {
  gilscope_test::Outer::inner(depth + 1);
}

__attribute__((noinline)) int outer() { middle(1); }

int main(int argc, char** argv) {
  const bool with_signal = argc > 1 && std::strcmp(argv[1], "--signal") == 0;
  if (with_signal) ::signal(SIGUSR1, &HandleSignal);
  pthread_t spinner;
  if (pthread_create(&spinner, nullptr, &SpinnerMain, nullptr) != 0) return 1;
  while (!spinning.load()) {
  }
  if (with_signal) {
    if (pthread_kill(spinner, SIGUSR1) != 0) return 1;
    while (!in_handler.load()) {
    }
  }
  return outer();
}
