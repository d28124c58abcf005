#!/usr/bin/env bash
# Fails when a C/C++ file differs from what .clang-format makes of it; --fix rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'include/*.h' 'tests/*.cc' 'tests/*.h' 'tests/*.c')
if [[ ${1:-} == --fix ]]; then
  clang-format-14 -i "${files[@]}"
  exit 0
fi
differing=()
for file in "${files[@]}"; do
  clang-format-14 --dry-run "$file" 2>&1 | grep -q . && differing+=("$file")
done
if ((${#differing[@]})); then
  echo "format: ${#differing[@]} file(s) differ from .clang-format (fix: bash scripts/check_format.sh --fix):"
  printf '  %s\n' "${differing[@]}"
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
