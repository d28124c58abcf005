#!/usr/bin/env bash
# The truth harness (tests/tools/truth_harness.py): builds gilscope, then records workloads
# whose GIL truth is known by construction at several rates, modes and loads on every
# interpreter, and prints how far what gilscope filed is from that truth. Arguments go to the
# harness (--rates, --modes, --loads, --spinners, --seconds, --pythons). Not part of the test
# command: a full run takes minutes per interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
exec python3 tests/tools/truth_harness.py "$@"
