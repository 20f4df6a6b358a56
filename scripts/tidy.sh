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
echo "tidy: ${#files[@]} files in ${layers[*]}"
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc 2>/dev/null || echo 2)" -n 1 \
    clang-tidy -p "$dir" --quiet 2>/dev/null |
  tee /tmp/tidy.$$.log || true # clang-tidy's exit status counts system headers too; the grep below decides
# The analyzer follows paths into system headers (Boost.Asio's any_executor)
# and may end a report there; those are not our code and cannot be fixed
# here, so only diagnostics located in the project's own files count.
if grep -v "^/usr/" /tmp/tidy.$$.log | grep -q "error:\|warning:"; then
  rm -f /tmp/tidy.$$.log; echo "tidy: findings above"; exit 1
fi
rm -f /tmp/tidy.$$.log; echo "tidy: no findings"
