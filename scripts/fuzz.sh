#!/usr/bin/env bash
# Long fuzzing runs, apart from the test command's short ones: builds the clang tree
# (scripts/build_clang.sh) and runs each fuzzer for GILSCOPE_FUZZ_SECONDS (default 600).
# A crash leaves its input in the work directory printed first: copy it to testdata/fuzz/.
# Usage: scripts/fuzz.sh [walkers|elf]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
export GILSCOPE_FUZZ_SECONDS=${GILSCOPE_FUZZ_SECONDS:-600}
bash scripts/build_clang.sh --target walkers_fuzzer elf_fuzzer walkers_fuzz_seeds
cd build-clang
fuzzers=("$@")
((${#fuzzers[@]})) || fuzzers=(walkers elf)
regex=$(IFS='|'; echo "${fuzzers[*]}")
ctest --output-on-failure -L fuzz -R "^(${regex})_fuzz$"
