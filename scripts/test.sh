#!/usr/bin/env bash
# Quick start, part 2: install, build, and run every test, in two build trees:
#   build/        g++, as users build it: unit and integration tests (ctest label "integration":
#                 every interpreter found, see README "Tests", and those in GILSCOPE_TEST_PYTHONS)
#   build-clang/  clang with AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage:
#                 the unit tests and fuzz regressions ("unit"), the sanitized binary against every
#                 interpreter ("sanitized"), and both fuzzers for GILSCOPE_FUZZ_SECONDS each
#                 (default 20; scripts/fuzz.sh runs them longer) ("fuzz")
# ctest runs each tree's tests on every core; long integration modules are split into shards.
# Each stage prints its wall time; a formatting difference fails the run. Arguments go to every
# ctest run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
stage_started=$SECONDS
stages=()
stage_done() {  # stage_done NAME: how long the stage since the previous one took
  local seconds=$((SECONDS - stage_started))
  stages+=("$(printf '%-30s %5d s' "$1" "$seconds")")
  echo "== $1: ${seconds} s"
  stage_started=$SECONDS
}

bash scripts/setup.sh --install-only
stage_done "install packages"

failed=()
bash scripts/check_format.sh || failed+=("format")
stage_done "format check"

bash scripts/setup.sh
stage_done "build (g++)"

bash scripts/build_clang.sh
stage_done "build (clang, sanitized)"

# A sanitizer report is a failure, leaks included.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export GILSCOPE_FUZZ_SECONDS=${GILSCOPE_FUZZ_SECONDS:-20}

summaries=()
failed_dirs=()
run_suite() {  # run_suite NAME DIR [ctest args...]
  local name=$1 dir=$2
  shift 2
  echo
  echo "==== $name ($dir)"
  cd "$root/$dir"
  set +e
  ctest --output-on-failure -j"$jobs" "$@" | tee ctest-output.txt
  local status=${PIPESTATUS[0]}
  set -e
  # ctest hides the output of passing tests: show which interpreters each one covered.
  echo "== interpreters covered ($name)"
  grep -hE "^[a-z_]+( \[shard [0-9/]+\])?: (covered|checked) " Testing/Temporary/LastTest.log \
    | sort -u || true
  summaries+=("$name: $(grep -E "tests passed, [0-9]+ tests failed out of" ctest-output.txt | tail -n 1 || echo "no result")")
  ((status == 0)) || { failed+=("$name"); failed_dirs+=("$dir"); }
  cd "$root"
  stage_done "$name"
}
run_suite "tests" build -LE "fuzz|sanitized" "$@"
run_suite "sanitized tests and fuzzers" build-clang -L "unit|sanitized|fuzz" "$@"

# A CI log may keep only its last lines: repeat the end of each failed test's output here.
for dir in "${failed_dirs[@]}"; do
  failed_list=$root/$dir/Testing/Temporary/LastTestsFailed.log
  [[ -s $failed_list ]] || continue
  while IFS=: read -r _ test_name; do
    echo
    echo "==== why $test_name failed ($dir), the end of its output"
    awk -v name="$test_name" '
      $0 ~ "^[0-9]+/[0-9]+ Test: " name "$" { mine = 1; next }
      mine && /^<end of output>$/ { exit }
      mine && started { print }
      mine && /^-----+$/ { started = 1 }' "$root/$dir/Testing/Temporary/LastTest.log" | tail -n 50
  done <"$failed_list"
done

echo
printf '%s\n' "${summaries[@]}"
echo "== wall time per stage"
printf '  %s\n' "${stages[@]}"
printf '  %-30s %5d s\n' "total" "$SECONDS"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all passed"
