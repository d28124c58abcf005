#!/usr/bin/env bash
# Runs a libFuzzer target for GILSCOPE_FUZZ_SECONDS (default 60) from the given corpus folders
# (seeds and past crashes; missing ones are skipped). A crash, sanitizer report, leak, hang
# (> 10 s on one input) or running out of memory fails the run, and libFuzzer leaves the input
# as crash-*/timeout-*/oom-* in the work directory printed first: copy it to testdata/fuzz/ so
# it stays a regression case.
# Usage: run_fuzzer.sh FUZZER CORPUS_DIR...
set -euo pipefail
fuzzer=$(realpath "$1")
shift
corpora=()
for dir in "$@"; do [[ -d $dir ]] && corpora+=("$(realpath "$dir")"); done
seconds=${GILSCOPE_FUZZ_SECONDS:-60}
work=$(mktemp -d /tmp/gilscope-fuzz.XXXXXX)
echo "run_fuzzer: $(basename "$fuzzer") for ${seconds}s, work directory $work"
mkdir -p "$work/corpus"
cd "$work"
# New inputs go to the first folder (a scratch one); -max_len: seeds are tens of KB.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -use_value_profile=1 -print_final_stats=1 "$work/corpus" "${corpora[@]}"
rm -rf "$work"
