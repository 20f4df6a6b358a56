#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, build dir build-fuzz, clang with
# -fsanitize=fuzzer,address,undefined) and runs them on their corpus.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   run one or every target for
#                                            SECONDS each (default 30)
#   scripts/fuzz.sh list                     the target names
#   scripts/fuzz.sh seeds                    rebuild the committed corpus:
#        seeds from the WebAuthn vectors and fixtures, minimised with -merge=1
#
# Fails on any crash, leak, timeout or out-of-memory; the input that caused
# it is saved under build-fuzz/artifacts/TARGET/. New inputs go to
# build-fuzz/corpus/TARGET (the committed corpus in tests/fuzz/corpus is
# only read). A summary line per target (execs, exec/s, cov, ft, corpus) is
# appended to build-fuzz/fuzz-summary.tsv.
# Environment: PA_FUZZ_RUNS=N stops each target after N executions instead
# (or as well: whichever comes first); PA_FUZZ_BUILD=0 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="$root/build-fuzz"
what="${1:-all}"
seconds="${2:-30}"

if [ "${PA_FUZZ_BUILD:-1}" != "0" ]; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}" CCACHE_NOHASHDIR=true
  CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz \
    -DAUTHSVC_FUZZ=ON -DAUTHSVC_BENCH=OFF >/dev/null
  cmake --build "$build" --target fuzz_targets -j"$(nproc 2>/dev/null || echo 2)" \
    | grep -v '^\[' || true
  [ -x "$build/tests/fuzz/fuzz_cbor" ] || { echo "fuzz build failed"; exit 1; }
fi

targets=()
for bin in "$build"/tests/fuzz/fuzz_*; do
  name="$(basename "$bin")"; name="${name#fuzz_}"
  [ "$name" = "make_jws_seeds" ] && continue
  targets+=("$name")
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "$what" = "list" ]; then
  printf '%s\n' "${targets[@]}"; exit 0
fi

if [ "$what" = "seeds" ]; then
  raw="$(mktemp -d)"; trap 'rm -rf "$raw"' EXIT
  python3 tests/fuzz/make_seeds.py "$root" "$raw"
  mkdir -p "$raw/jws"; "$build/tests/fuzz/fuzz_make_jws_seeds" "$raw/jws"
  for t in "${targets[@]}"; do
    mkdir -p "tests/fuzz/corpus/$t" "$raw/$t"
    "$build/tests/fuzz/fuzz_$t" -merge=1 "tests/fuzz/corpus/$t" "$raw/$t" \
      >"$raw/$t.log" 2>&1 || { cat "$raw/$t.log"; exit 1; }
    echo "$t: $(ls "tests/fuzz/corpus/$t" | wc -l) inputs"
  done
  exit 0
fi

if [ "$what" != "all" ]; then
  [ -x "$build/tests/fuzz/fuzz_$what" ] || { echo "no fuzz target '$what' (scripts/fuzz.sh list)"; exit 2; }
  targets=("$what")
fi

runs="${PA_FUZZ_RUNS:--1}"
failed=()
for t in "${targets[@]}"; do
  work="$build/corpus/$t"; art="$build/artifacts/$t/"; log="$build/logs/$t.log"
  mkdir -p "$work" "$art" "$build/logs" "tests/fuzz/corpus/$t"
  # -timeout: one input over 10 s is a finding (a hang for a request);
  # -rss_limit_mb: a parser must not need 2 GB for one input.
  if nice "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -runs="$runs" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$art" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED; failed+=("$t")
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  done_line="$(grep -E '^#[0-9]+' "$log" | tail -1)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")"
  corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")"
  printf '%s\t%s\texecs=%s\texec/s=%s\tcov=%s\tft=%s\tcorp=%s\t%ss\n' \
    "$t" "$status" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$seconds" \
    | tee -a "$build/fuzz-summary.tsv"
  if [ "$status" = FAILED ]; then
    grep -E 'ERROR|SUMMARY|fuzz invariant|runtime error|Test unit written' "$log" | head -20
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz findings in: ${failed[*]} (logs in $build/logs, inputs in $build/artifacts)"
  exit 1
fi
