#!/usr/bin/env bash
# Profiler CPU cost per sample, gilscope next to CPython 3.15's own sampler; see
# tests/tools/cost_vs_tachyon.py. Needs GILSCOPE_TACHYON_PYTHON (skips without it).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/tools/cost_vs_tachyon.py "$@"
