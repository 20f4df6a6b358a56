#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) on the service's sources with the compile
# commands of a configured build directory. Usage:
#   scripts/tidy.sh BUILD_DIR [LAYER...]     (default layers: all of them)
# Exits non-zero on any finding. Two files at a time (the machine has 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"; shift
layers=("$@")
((${#layers[@]})) || layers=(auth core db mail actors http front net src)
files=()
for layer in "${layers[@]}"; do
  while IFS= read -r f; do files+=("$f"); done < <(git ls-files "$layer/*.cpp")
done
# The fronts and the flows they run make every request through
# safe_request (actors/safe_request.hpp): in CAF 0.17.6 an exception that
# leaves a plain request's continuation ends the actor, and a dead front
# answers 503 until it is replaced. A plain `->request(` there is a finding.
plain=$(git grep -n -E -e '->request\(' -- 'front/*.cpp' 'front/*.hpp' \
  'actors/*_flow.hpp' 'actors/email_flows.hpp' | grep -v -E ':[0-9]+:\s*//' || true)
if [ -n "$plain" ]; then
  printf '%s\n' "$plain"
  echo "tidy: requests above are not made through safe_request"; exit 1
fi
echo "tidy: ${#files[@]} files in ${layers[*]}"
# scripts/tidy_file.py runs clang-tidy on one file, counts only findings in
# the project's own files, and remembers clean results (its header says how).
if ! printf '%s\n' "${files[@]}" |
    xargs -P "$(nproc 2>/dev/null || echo 2)" -n 1 scripts/tidy_file.py "$dir"; then
  echo "tidy: findings above"; exit 1
fi
echo "tidy: no findings"
