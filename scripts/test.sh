#!/usr/bin/env bash
# Quick start, part 2: install, build, and run every test (unit and integration).
# Integration tests cover every interpreter found (see README "Tests"), plus those listed
# in GILSCOPE_TEST_PYTHONS (colon-separated paths).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${GILSCOPE_BUILD_DIR:-build}"
set +e
ctest --output-on-failure -j1 "$@" | tee ctest-output.txt
status=${PIPESTATUS[0]}
set -e
# ctest hides the output of passing tests: show which interpreters each one covered, then
# repeat ctest's verdict so it stays the closing line.
echo "== interpreters covered"
grep -hE "^[a-z_]+: (covered|checked) " Testing/Temporary/LastTest.log | sort -u || true
grep -E "tests passed, [0-9]+ tests failed out of" ctest-output.txt | tail -n 1 || true
exit "$status"
