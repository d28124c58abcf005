#!/usr/bin/env bash
# Quick start, part 2: install, build, and run every test, three times over:
#   build/           the ordinary build: unit and integration tests
#   build-sanitize/  the same suite with AddressSanitizer and UndefinedBehaviorSanitizer (g++)
#   build-fuzz/      the walkers and ELF fuzzers under libFuzzer (clang), each for
#                    GILSCOPE_FUZZ_SECONDS (default 60)
# Integration tests cover every interpreter found (see README "Tests"), plus those listed in
# GILSCOPE_TEST_PYTHONS (colon-separated paths). Arguments go to every ctest run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/setup.sh
GILSCOPE_BUILD_DIR=build-sanitize GILSCOPE_CMAKE_ARGS=-DGILSCOPE_SANITIZE=ON bash scripts/setup.sh
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGILSCOPE_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target walkers_fuzzer elf_fuzzer walkers_fuzz_seeds

# A sanitizer report is a failure, leaks included.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summaries=()
run_suite() {  # run_suite NAME DIR [ctest args...]
  local name=$1 dir=$2
  shift 2
  echo
  echo "==== $name ($dir)"
  cd "$root/$dir"
  set +e
  ctest --output-on-failure -j1 "$@" | tee ctest-output.txt
  local status=${PIPESTATUS[0]}
  set -e
  # ctest hides the output of passing tests: show which interpreters each one covered.
  echo "== interpreters covered ($name)"
  grep -hE "^[a-z_]+: (covered|checked) " Testing/Temporary/LastTest.log | sort -u || true
  summaries+=("$name: $(grep -E "tests passed, [0-9]+ tests failed out of" ctest-output.txt | tail -n 1 || echo "no result")")
  ((status == 0)) || failed+=("$name")
  cd "$root"
}
run_suite "tests" build -LE fuzz "$@"
run_suite "tests under ASan+UBSan" build-sanitize -LE fuzz "$@"
run_suite "fuzzer" build-fuzz -L fuzz "$@"

echo
printf '%s\n' "${summaries[@]}"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all passed"
