#!/usr/bin/env bash
# The scale-out benchmark of issue 14: 1 node on SQLite, 1 node on
# PostgreSQL, 3 nodes on PostgreSQL behind HAProxy, in one run on this
# machine, each on fresh data; session check, refresh, email start with
# wrk on loopback. Prints a table (req/s, p50, p99, ratio to the SQLite
# node, CPU time per 1000 requests of the nodes, PostgreSQL and HAProxy,
# `uptime` before each case) and writes bench/results/scale_out.json.
# The driver is bench/scale_out_run.py (its docstring says what each case
# sends); it reuses bench/prepare.py, one_shot.lua, email_start.lua and
# summarize.py's aggregation.
#
# Usage: bench/scale_out.sh            (the binary in build/, not rebuilt)
# Knobs (environment): SERVICE_BIN=build/passwordless-auth DURATION=5s
# WARMUP=2s CONNECTIONS=64 WRK_THREADS=2 REFRESH_TOKENS=4000 REFRESH_BOUND=20s
# SETUPS="sqlite1 pg1 pg3" CASES="session refresh email_start"
# RESULTS=bench/results/scale_out.json TIME_LIMIT=1200 (seconds, whole run)
# KEEP_TMP=1 (keeps the run's folder with every process's log)
# HAPROXY_CFG=deploy/haproxy.cfg (a variant to compare: same bind and
# server lines, which are filled in)
#
# Fails (exit 1, after printing and writing the results) when any answer
# was not 2xx or a refresh answer lacked its refresh token. Needs wrk,
# PostgreSQL 15 (/usr/lib/postgresql/15/bin) and /usr/sbin/haproxy
# (scripts/install-deps.sh test). Everything listens on 127.0.0.1 and is
# stopped at the end, also on interrupt or time-out.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SERVICE_BIN=${SERVICE_BIN:-$ROOT/build/passwordless-auth}
[[ -x $SERVICE_BIN ]] || { echo "scale_out: $SERVICE_BIN not built" >&2; exit 1; }
for tool in wrk python3 uptime; do
  command -v "$tool" >/dev/null || { echo "scale_out: $tool is required" >&2; exit 1; }
done
# timeout sends SIGTERM to the driver, which stops what it started.
exec timeout -k 30 "${TIME_LIMIT:-1200}" python3 "$ROOT/bench/scale_out_run.py"
