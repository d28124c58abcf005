#!/usr/bin/env bash
# Runs the walkers fuzzer from the seed corpus for GILSCOPE_FUZZ_SECONDS (default 60). A crash,
# sanitizer report, leak, hang (> 10 s on one input) or out-of-memory fails the run, and
# libFuzzer leaves the input as crash-*/timeout-*/oom-* in the work directory it prints: copy it
# to testdata/fuzz/ so it stays a regression case.
# Usage: run_fuzzer.sh FUZZER SEED_MAKER TESTDATA_DIR
set -euo pipefail
fuzzer=$(realpath "$1") seed_maker=$(realpath "$2") testdata=$(realpath "$3")
seconds=${GILSCOPE_FUZZ_SECONDS:-60}
work=$(mktemp -d /tmp/gilscope-fuzz.XXXXXX)
echo "run_fuzzer: work directory $work"
"$seed_maker" "$work/seeds" "$testdata"
mkdir -p "$work/corpus"
cd "$work"
# -max_len: the seeds are a few KB; images beyond 64 KB only slow the search.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -use_value_profile=1 -print_final_stats=1 \
  "$work/corpus" "$work/seeds" "$testdata/fuzz"
rm -rf "$work"
