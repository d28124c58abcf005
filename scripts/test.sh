#!/usr/bin/env bash
# Quick start, part 2: install, build, and run every test (unit and integration).
# Integration tests cover every interpreter found (see README "Interpreters"), plus
# those listed in GILSCOPE_TEST_PYTHONS (colon-separated paths).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${GILSCOPE_BUILD_DIR:-build}"
ctest --output-on-failure -j1 "$@"
