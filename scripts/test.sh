#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Release build
# (-Wall -Wextra, warnings reported) and then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh all
scripts/npm-deps.sh

echo "== release build"
scripts/build.sh build 2>&1 | tee build-release.log
if grep -q "warning:" build-release.log; then
  echo "compiler warnings found (see above)"; exit 1
fi
rm -f build-release.log
(cd build && ctest --output-on-failure -j2)

# Static checks (.clang-tidy) on the layers of the store/front redesign; any
# finding fails the run.
echo "== clang-tidy"
scripts/tidy.sh build db actors front

if [ "${PA_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== asan+ubsan build"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Sanitize -DAUTHSVC_BENCH=OFF \
    -DAUTHSVC_SANITIZERS=address,undefined
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  (cd build-asan && ctest --output-on-failure -j2)
fi

# -- fuzzing (issue 15) -------------------------------------------------------
# Every libFuzzer target (tests/fuzz) for a short time on its committed
# corpus, so they keep building and the corpus stays clean: each replays its
# whole committed corpus, then fuzzes for 3 s (22 targets, about 2 min with
# the replays, plus the clang build). The long runs are scripts/fuzz.sh's. Any
# crash, leak or timeout fails the run (scripts/fuzz.sh).
if [ "${PA_SKIP_FUZZ:-0}" != "1" ]; then
  echo "== fuzz"
  # Its own sanitizer options (leak detection on), not the suite's above.
  ASAN_OPTIONS= UBSAN_OPTIONS= scripts/fuzz.sh all "${PA_FUZZ_SECONDS:-3}"
fi
