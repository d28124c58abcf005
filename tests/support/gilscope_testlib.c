/* A tiny shared library with native functions of known names, for gilscope's --native tests
 * (tests/workloads/native_shapes.py calls it through ctypes; tests/integration/native_test.py
 * expects these names in the merged stacks).
 *
 *   gilscope_busy_outer(seconds)  calls gilscope_busy_inner(seconds)
 *   gilscope_busy_inner(seconds)  spins on the CPU for that long (no system call besides the
 *                                 vDSO's clock_gettime), returns the number of iterations
 *
 * Built with -O1 -g -fno-omit-frame-pointer -fno-inline: each function keeps its own frame, and
 * the noinline attributes and the work after the inner call keep outer from being a tail call,
 * so the native stack reads gilscope_busy_inner <- gilscope_busy_outer <- (ctypes/libffi).
 */
#include <time.h>

#define GILSCOPE_TESTLIB_EXPORT __attribute__((visibility("default"), noinline, used))

/* Inlined despite -fno-inline: the spinning function has no callee but clock_gettime. */
static inline __attribute__((always_inline)) double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

GILSCOPE_TESTLIB_EXPORT double gilscope_busy_inner(double seconds) {
  const double deadline = now_seconds() + seconds;
  volatile unsigned long spins = 0;
  for (;;) {
    /* A chunk of pure computation between clock reads: most samples land here, inside this
     * function's own code, not in the vDSO. */
    for (int i = 0; i < 200000; ++i) spins = spins + 1;
    if (now_seconds() >= deadline) break;
  }
  return (double)spins;
}

GILSCOPE_TESTLIB_EXPORT double gilscope_busy_outer(double seconds) {
  volatile double result = gilscope_busy_inner(seconds);
  return result + 1.0; /* work after the call: not a tail call */
}
