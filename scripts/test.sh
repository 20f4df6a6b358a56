#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Release build
# (-Wall -Wextra, warnings reported) and then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each phase's wall time, printed as it ends and again at the end (CI's 40
# minutes: the summary says where they went).
phase_name="" phase_t0=$SECONDS timings=""
phase() {
  if [ -n "$phase_name" ]; then
    timings+="$(printf '%6d s  %s' $((SECONDS - phase_t0)) "$phase_name")"$'\n'
  fi
  phase_name="$1" phase_t0=$SECONDS
  [ -z "$1" ] || echo "== $1"
}
# The slowest ctest entries of a build directory (ctest's own record).
slowest() {
  local f="$1/Testing/Temporary/CTestCostData.txt"
  [ -f "$f" ] || return 0
  echo "-- slowest tests in $1 (s)"
  awk 'NF == 3 { printf "%8.1f  %s\n", $3, $1 }' "$f" | sort -rn | head -12
}
trap 'phase ""; printf "== phase times (total %d s)\n%s" "$SECONDS" "$timings"' EXIT

phase "install"
scripts/install-deps.sh all
scripts/npm-deps.sh

phase "release build"
scripts/build.sh build 2>&1 | tee build-release.log
if grep -q "warning:" build-release.log; then
  echo "compiler warnings found (see above)"; exit 1
fi
rm -f build-release.log
# Whether the compiler cache was warm (CI's build time depends on it).
! command -v ccache >/dev/null || ccache -s | grep -E "^ *(Hits|Misses):" || true
phase "release tests"
(cd build && ctest --output-on-failure -j2)
slowest build

# Static checks (.clang-tidy) on the layers of the store/front redesign; any
# finding fails the run.
phase "clang-tidy"
scripts/tidy.sh build db actors front

if [ "${PA_SKIP_SANITIZERS:-0}" != "1" ]; then
  phase "asan+ubsan build"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Sanitize -DAUTHSVC_BENCH=OFF \
    -DAUTHSVC_SANITIZERS=address,undefined
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  phase "asan+ubsan tests"
  (cd build-asan && ctest --output-on-failure -j2)
  slowest build-asan
fi

# -- fuzzing (issue 15) -------------------------------------------------------
# Every libFuzzer target (tests/fuzz) for a short time on its committed
# corpus, so they keep building and the corpus stays clean: each replays its
# whole committed corpus, then fuzzes for 3 s (22 targets, about 2 min with
# the replays, plus the clang build). The long runs are scripts/fuzz.sh's. Any
# crash, leak or timeout fails the run (scripts/fuzz.sh).
if [ "${PA_SKIP_FUZZ:-0}" != "1" ]; then
  phase "fuzz"
  # Its own sanitizer options (leak detection on), not the suite's above.
  ASAN_OPTIONS= UBSAN_OPTIONS= scripts/fuzz.sh all "${PA_FUZZ_SECONDS:-3}"
fi
