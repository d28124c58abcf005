#!/usr/bin/env bash
# Quick start, part 1: install, build, and look at a contended Python program with gilscope.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python=${GILSCOPE_DEMO_PYTHON:-/usr/bin/python3}

"$python" tests/workloads/gil_shapes.py > /tmp/gilscope-demo.out &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q ready /tmp/gilscope-demo.out 2>/dev/null && break; sleep 0.1; done

echo "== gilscope dump --pid $demo   (two spinners share the GIL; a sleeper, a blocked thread, a hasher)"
./build/src/gilscope dump --pid "$demo"
