#!/usr/bin/env bash
# Installs what gilscope needs on Debian 12 (as root) and builds it into ./build.
# Idempotent: a second run only rebuilds what changed (ccache keeps compiled files across
# trees and clean clones).
#   --install-only   install the packages, build nothing
#   GILSCOPE_BUILD_DIR (default build), GILSCOPE_CMAKE_ARGS: another tree, other options
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake make pkg-config ccache             # toolchain
  libabsl-dev libboost-program-options-dev    # Status/containers/strings; the CLI parser
  libelf-dev nlohmann-json3-dev libunwind-dev # ELF symbols; JSON output; native stacks
  libprotobuf-dev protobuf-compiler zlib1g-dev # pprof and Perfetto outputs (gzip for pprof)
  liblzma-dev libc6-dbg                       # .gnu_debugdata (xz symbols); glibc's debug file for native_test
  libncurses-dev                              # gilscope top's terminal view
  libgtest-dev libgmock-dev                   # unit tests
  golang-go                                   # go tool pprof reads our pprof files in tests
  python3 gdb procps util-linux               # an interpreter to profile; layout checks; test tools
  chromium                                    # runs the flame graph's script in the browser test
  tmux                                        # drives gilscope top in a terminal in top_test
  gunicorn                                    # a service of several processes for gunicorn_test
  clang libclang-rt-14-dev                    # the sanitized tree and fuzzers: libFuzzer, ASan, UBSan
  clang-format-14                             # the format check
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ ${1:-} == --install-only ]] && exit 0

# Line tables only (-g1): enough for backtraces and perf, and a third less compile time than -g.
build_dir=${GILSCOPE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
  ${GILSCOPE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
