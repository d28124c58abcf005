#!/usr/bin/env bash
# Soak: records a target that starts threads all the time (tests/workloads/changing_target.py
# churn) for SOAK_SECONDS (default 600) at SOAK_RATE Hz (default 200), and prints gilscope's
# resident memory every 30 s, then its growth after the first minute. Measures, never fails on
# a threshold: the test suite's short version (hostile_target_test Load) asserts a bound.
# Usage: scripts/soak.sh [PYTHON]      (after scripts/setup.sh; default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
seconds=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-200}
out=$(mktemp -d /tmp/gilscope-soak.XXXXXX)
"$python" tests/workloads/changing_target.py churn > "$out/workload.out" &
target=$!
trap 'kill $target 2>/dev/null || true; kill $recorder 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q ready "$out/workload.out" 2>/dev/null && break; sleep 0.1; done
./build/src/gilscope record --pid "$target" -r "$rate" -d "$seconds" -o "$out/profile.svg" \
  --summary "$out/summary.json" 2> "$out/record.err" &
recorder=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$recorder/status" 2>/dev/null || echo 0; }
baseline=
for ((t = 30; t <= seconds - 5; t += 30)); do
  sleep 30
  now=$(rss)
  [[ $t == 60 ]] && baseline=$now
  echo "soak: ${t}s  gilscope RSS ${now} KiB"
done
final=$(rss)
wait $recorder
echo "soak: recording ended: $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["samples"], "samples,", s["errors"], "errors,", len(s["threads"]), "thread rows")' "$out/summary.json")"
[[ -n $baseline ]] && echo "soak: RSS grew $((final - baseline)) KiB from 60 s to the end (${final} KiB)"
rm -rf "$out"
