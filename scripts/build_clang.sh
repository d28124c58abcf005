#!/usr/bin/env bash
# Builds ./build-clang: clang with AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's
# coverage in every library, for the sanitized tests and the fuzzers. Line tables are enough for
# sanitizer reports; -O1 keeps them readable and the fuzzers fast. Arguments go to
# `cmake --build` (e.g. --target walkers_fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
flags="-O1 -gline-tables-only -DNDEBUG"
cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGILSCOPE_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build-clang -j"$(nproc)" "$@"
