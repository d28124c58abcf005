#!/usr/bin/env bash
# The throughput a program loses while gilscope records it, and the share of time its threads
# are stopped; see tests/tools/target_overhead.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/tools/target_overhead.py "$@"
