#!/usr/bin/env bash
# Quick start, part 1: install, build, and profile a contended Python program with gilscope:
# one dump of every thread now, then a 5-second recording (flame graph + summary + verdict).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python=${GILSCOPE_DEMO_PYTHON:-/usr/bin/python3}
out=build/demo
mkdir -p "$out"

"$python" tests/workloads/gil_shapes.py > "$out/workload.out" &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q ready "$out/workload.out" 2>/dev/null && break; sleep 0.1; done

echo "== gilscope dump --pid $demo   (two spinners share the GIL; a sleeper, a blocked thread, a hasher)"
./build/src/gilscope dump --pid "$demo"

echo
echo "== gilscope record --pid $demo -d 5 -o $out/profile.svg --summary $out/summary.json"
./build/src/gilscope record --pid "$demo" -d 5 -o "$out/profile.svg" --summary "$out/summary.json"
echo
echo "Open $out/profile.svg in a browser: blame, wait, gil, wall and cpu views and a timeline of each"
echo "thread's GIL state; hover, click to zoom, search, drag across the timeline to pick a time range."
echo "Live: gilscope top --pid PID. Other formats: -f pprof (go tool pprof), -f perfetto (ui.perfetto.dev)."
