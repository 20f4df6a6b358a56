#!/usr/bin/env bash
# Soak (issue 15): runs the service on loopback under mixed traffic
# (bench/soak_load.py: email-code sign-ins, refresh rotations, token checks,
# probes) for DURATION seconds (default 1800 = 30 minutes) and samples the
# service's RSS and open file descriptors every SAMPLE seconds into
# bench/results/soak.csv (seconds,rss_kb,open_fds). Flat columns are the
# pass condition; docs/reliability.md ("Soak") records a run.
#
# Usage: bench/soak.sh [DURATION_SECONDS]
#        BUILD_DIR=build SAMPLE=5 OUT=bench/results/soak.csv bench/soak.sh 60
# Everything it starts is stopped on exit, interrupt or error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${1:-1800}
SAMPLE=${SAMPLE:-5}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT=${OUT:-$ROOT/bench/results/soak.csv}
BIN=$BUILD_DIR/passwordless-auth
[[ -x $BIN ]] || { echo "soak: $BIN missing (scripts/build.sh build)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pa-soak.XXXXXX")
SERVICE_PID=""
LOAD_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in $LOAD_PID $SERVICE_PID; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT INT TERM

PA_DATABASE_PATH=$TMP/auth.db PA_MAIL_OUTBOX_DIR=$TMP/outbox \
PA_AUTH_SECRET_KEY=soak-secret-key-0123456789abcdef0123456789 \
PA_LOG_LEVEL=warn PA_AUTH_EMAIL_MIN_INTERVAL=0 PA_AUTH_EMAIL_HOURLY_CAP=1000000 \
PA_MAIL_POLL_INTERVAL=0.2 PA_RATE_LIMIT_ENABLED=false \
  "$BIN" --set server.host=127.0.0.1 --set server.port=0 \
  >"$TMP/service.log" 2>&1 </dev/null &
SERVICE_PID=$!
PORT=""
for _ in $(seq 200); do
  PORT=$(grep -h '"event":"http-listening"' "$TMP/service.log" 2>/dev/null \
           | head -1 | sed -E 's/.*"port":([0-9]+).*/\1/' || true)
  [[ -n $PORT ]] && curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PORT/readiness" && break
  PORT=""
  sleep 0.1
done
[[ -n $PORT ]] || { echo "soak: the service did not start" >&2; cat "$TMP/service.log" >&2; exit 1; }

python3 "$ROOT/bench/soak_load.py" "http://127.0.0.1:$PORT" "$TMP/outbox" \
  "$DURATION" >"$TMP/load.json" &
LOAD_PID=$!

mkdir -p "$(dirname "$OUT")"
echo "seconds,rss_kb,open_fds" >"$OUT"
start=$(date +%s)
while kill -0 "$LOAD_PID" 2>/dev/null; do
  kill -0 "$SERVICE_PID" 2>/dev/null || { echo "soak: the service died" >&2; exit 1; }
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVICE_PID/status")
  fds=$(ls "/proc/$SERVICE_PID/fd" | wc -l)
  echo "$(( $(date +%s) - start )),$rss,$fds" >>"$OUT"
  sleep "$SAMPLE"
done
wait "$LOAD_PID"
LOAD_PID=""
echo "soak: traffic $(cat "$TMP/load.json")"
echo "soak: samples in $OUT"
awk -F, 'NR == 2 {r0 = $2; f0 = $3} NR > 1 {r = $2; f = $3; if ($2 > rmax) rmax = $2}
  END {printf "soak: rss first %d KiB, last %d KiB, peak %d KiB; fds first %d, last %d\n", r0, r, rmax, f0, f}' "$OUT"
