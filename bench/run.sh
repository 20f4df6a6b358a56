#!/usr/bin/env bash
# Benchmarks the service against bench/bare_server (a minimal Beast server
# that answers every request 200 {"status":"alive"}) with wrk on loopback.
#
# For each case: warm up every target, then alternate targets A/B/A/B for
# ROUNDS rounds of a load run (wrk -tWRK_THREADS -cCONNECTIONS -dDURATION),
# then ROUNDS rounds of a single-connection latency run (-t1 -c1). Prints a
# table and writes bench/results/latest.json.
#
# Usage: bench/run.sh                      builds with scripts/build.sh build
#        BUILD_DIR=build bench/run.sh      uses an existing build directory
#
# Knobs (environment): DURATION=10s CONNECTIONS=64 WRK_THREADS=2 ROUNDS=2
# WARMUP=3s LAT_DURATION=5s BARE_THREADS=1 TIME_LIMIT=2400 (seconds, whole
# script) CASES="liveness session email_link verify_code refresh passkey
# caf_verify email_start" (the default: every row of issue 13; see run_case)
# RESULTS=bench/results/latest.json SERVICE_ARGS="--set server.io_threads=1"
# LINK_TOKENS=10000 (single-use bodies per round of email_link, verify_code,
# refresh, passkey) LINK_DURATION=30s (their upper bound)
# START_DURATION=60s (email_start's load rounds) DRAIN_WAIT=120s (how long
# to watch the mail queue drain afterwards) CAF_INFLIGHT=64
#
# A run FAILS (exit 1, after writing the results) when any answer was not
# 2xx or, for the single-use cases, lacked its expected field. The load
# average is recorded before every wrk run.
#
# Put email_start last: the mail it queues keeps the service busy
# afterwards and delays the mail the single-use cases' preparation waits for.
#
# Everything listens on and talks to 127.0.0.1 only. Everything started here
# is stopped on exit, interrupt or time-out.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=127.0.0.1
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-3s}
LAT_DURATION=${LAT_DURATION:-5s}
BARE_THREADS=${BARE_THREADS:-1}
TIME_LIMIT=${TIME_LIMIT:-2400}
CASES=${CASES:-liveness session email_link verify_code refresh passkey caf_verify email_start}
RESULTS=${RESULTS:-$ROOT/bench/results/latest.json}
SERVICE_ARGS=${SERVICE_ARGS:-}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# -- process bookkeeping --------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pa-bench.XXXXXX")
STARTED=()      # long-lived children (servers, watchdog), stopped on exit
CURRENT=""      # the wrk (under timeout) running right now
SERVICE_PID=""
BARE_PID=""

# Stops one child we started: SIGTERM, up to 10 s grace, then SIGKILL.
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM; killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $CURRENT ]] && stop_pid "$CURRENT"
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    stop_pid "${STARTED[i]}"
  done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "stopped: time limit (${TIME_LIMIT}s) or SIGTERM"; exit 124' TERM

# Bounds the whole run: SIGTERM to this script after TIME_LIMIT seconds.
# The subshell kills its own sleep when it is stopped first.
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$TIME_LIMIT" & s=$!
  wait "$s" && kill -TERM $$ 2>/dev/null
) &
STARTED+=($!)

# run_bounded LOGFILE CMD...: runs CMD in the background with its output
# appended to LOGFILE and waits for it, so that a signal to this script is
# handled at once rather than after CMD ends.
run_bounded() {
  local out=$1
  shift
  "$@" >>"$out" 2>&1 &
  CURRENT=$!
  local rc=0
  wait "$CURRENT" || rc=$?
  CURRENT=""
  return "$rc"
}

# "10s" / "2m" / "1h" / "7" -> seconds.
seconds() {
  local v=$1
  case $v in
    *s) echo "${v%s}" ;;
    *m) echo $((${v%m} * 60)) ;;
    *h) echo $((${v%h} * 3600)) ;;
    *) echo "$v" ;;
  esac
}

# -- build --------------------------------------------------------------------

for tool in wrk curl jq python3 ss; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
if [[ -z ${BUILD_DIR:-} ]]; then
  log "building with scripts/build.sh build"
  (cd "$ROOT" && scripts/build.sh build)
  BUILD_DIR=$ROOT/build
fi
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
SERVICE_BIN=$BUILD_DIR/passwordless-auth
BARE_BIN=$BUILD_DIR/bench/bare_server
[[ -x $SERVICE_BIN ]] || die "$SERVICE_BIN not built"
[[ -x $BARE_BIN ]] \
  || die "$BARE_BIN not built (re-run cmake, then build target bare_server)"

mkdir -p "$(dirname "$RESULTS")"
RUNS=$TMP/runs.jsonl
RSS=$TMP/rss.jsonl
SIZES=$TMP/sizes.jsonl
EXTRA=$TMP/extra.jsonl   # per-case records that are not wrk runs
WRK_LOG=$(dirname "$RESULTS")/latest-wrk.log
: >"$RUNS"; : >"$RSS"; : >"$SIZES"; : >"$WRK_LOG"; : >"$EXTRA"

# -- servers ------------------------------------------------------------------

# Reads the port from the {"event":"http-listening",...,"port":N} line in
# `log`; if the line is filtered out (the service logs it at info, and we run
# it at warn), asks ss which 127.0.0.1 port the process listens on.
wait_for_port() {
  local pid=$1 logfile=$2 port="" candidates="" p
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null \
      || { tail -20 "$logfile" >&2; die "pid $pid exited during startup"; }
    candidates=$(grep -h '"event":"http-listening"' "$logfile" 2>/dev/null \
             | head -1 | jq -r '.port // empty' 2>/dev/null || true)
    if [[ -z $candidates ]]; then
      # The CAF API listens too (caf_verify): every 127.0.0.1 port.
      candidates=$(ss -Hltnp 2>/dev/null | grep "pid=$pid," \
               | awk '{print $4}' | grep "^$HOST:" \
               | sed 's/.*://' || true)
    fi
    [[ -n $candidates ]] && break
    sleep 0.1
  done
  [[ -n $candidates ]] || die "no listening port for pid $pid"
  # Listening is not the same as answering: wait for a 200.
  for _ in $(seq 100); do
    for p in $candidates; do
      curl -fsS -m 2 -o /dev/null "http://$HOST:$p/liveness" 2>/dev/null \
        && { echo "$p"; return 0; }
    done
    sleep 0.1
  done
  die "no port of pid $pid ($candidates) answered GET /liveness"
}

start_service() {
  mkdir -p "$TMP/service"
  # The CAF API's port: a free one picked here, since the service logs
  # caf-listening at info and runs at warn (ss also lists the internal
  # CAF listener behind the gate).
  CAF_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The auth.email_* overrides and the raised rate limits let every case
  # run without 429s. Rate limiting stays on (as in production), so each
  # request still pays for its limiter check.
  local high="100000000/60"
  # shellcheck disable=SC2086
  (cd "$TMP/service" && exec env \
     PA_LOG_LEVEL=warn \
     PA_AUTH_EMAIL_MIN_INTERVAL=0 \
     PA_AUTH_EMAIL_HOURLY_CAP=1000000 \
     PA_RATE_LIMIT_ENABLED=true \
     PA_RATE_LIMIT_POLICIES="email_send_per_address=$high,email_send_per_ip=$high,verify_per_ip=$high,refresh_per_ip=$high,webauthn_per_ip=$high,totp_per_ip=$high,global_per_ip=$high" \
     PA_CAF_ENABLED=true PA_CAF_PORT="$CAF_PORT" PA_CAF_INSECURE_PLAINTEXT=true \
     PA_CAF_RATE_LIMIT=100000000/1 \
     "$SERVICE_BIN" --set server.host=$HOST --set server.port=0 \
       $SERVICE_ARGS) >"$TMP/service.log" 2>&1 &
  SERVICE_PID=$!
  STARTED+=("$SERVICE_PID")
  SERVICE_PORT=$(wait_for_port "$SERVICE_PID" "$TMP/service.log")
  log "service pid $SERVICE_PID on $HOST:$SERVICE_PORT"
}

start_bare() {
  "$BARE_BIN" --host $HOST --port 0 --threads "$BARE_THREADS" \
    >"$TMP/bare.log" 2>&1 &
  BARE_PID=$!
  STARTED+=("$BARE_PID")
  BARE_PORT=$(wait_for_port "$BARE_PID" "$TMP/bare.log")
  log "bare_server pid $BARE_PID on $HOST:$BARE_PORT"
}

target_port() { [[ $1 == service ]] && echo "$SERVICE_PORT" || echo "$BARE_PORT"; }
target_pid() { [[ $1 == service ]] && echo "$SERVICE_PID" || echo "$BARE_PID"; }

# utime+stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Context switches (voluntary + involuntary) summed over a process's threads:
# each actor hop that wakes a sleeping thread shows up here.
ctx_switches() {
  cat "/proc/$1/task/"*/status 2>/dev/null \
    | awk '/^(non)?voluntary_ctxt_switches:/ {s += $2} END {print s + 0}'
}

# Appends {case, target, when, rss_kb, hwm_kb} from /proc/PID/status.
sample_rss() {
  local name=$1 target=$2 when=$3 pid
  pid=$(target_pid "$target")
  awk -v c="$name" -v t="$target" -v w="$when" '
    /^VmRSS:/ {rss = $2} /^VmHWM:/ {hwm = $2}
    END {printf "{\"case\":\"%s\",\"target\":\"%s\",\"when\":\"%s\",\"rss_kb\":%d,\"hwm_kb\":%d}\n", c, t, w, rss, hwm}
  ' "/proc/$pid/status" >>"$RSS"
}

# -- wrk ----------------------------------------------------------------------

# Writes the wrk script for one run: the request (method, optional body
# file or user Lua script) plus bench/wrk_report.lua's done(), which stores
# the numbers as JSON in $json.
make_script() {
  local out=$1 method=$2 extra=$3 json=$4
  {
    printf 'wrk.method = "%s"\n' "$method"
    if [[ $extra == *.lua ]]; then
      cat "$extra"
      printf '\n'
    elif [[ -n $extra ]]; then
      printf 'do\n  local f = assert(io.open([==[%s]==], "rb"))\n' "$extra"
      printf '  wrk.body = f:read("*a")\n  f:close()\nend\n'
      printf 'if not wrk.headers["Content-Type"] then\n'
      printf '  wrk.headers["Content-Type"] = "application/json"\nend\n'
    fi
    printf 'report_path = [==[%s]==]\n' "$json"
    cat "$ROOT/bench/wrk_report.lua"
  } >"$out"
}

# One wrk run; appends a line to $RUNS unless kind is "warmup".
# run_wrk CASE TARGET KIND ROUND THREADS CONNS DURATION METHOD PATH EXTRA [wrk args...]
run_wrk() {
  local name=$1 target=$2 kind=$3 round=$4 threads=$5 conns=$6 dur=$7
  local method=$8 path=$9 extra=${10}
  shift 10
  local port pid json script t0 t1 c0 c1 limit
  port=$(target_port "$target")
  pid=$(target_pid "$target")
  json=$TMP/$name-$target-$kind-$round.json
  script=$TMP/$name-$target-$kind-$round.lua
  make_script "$script" "$method" "$extra" "$json"
  limit=$(($(seconds "$dur") + 30))
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(cpu_ticks "$pid")
  c0=$(ctx_switches "$pid")
  printf '\n### %s %s %s round %s: wrk -t%s -c%s -d%s %s %s\n' \
    "$name" "$target" "$kind" "$round" "$threads" "$conns" "$dur" \
    "$method" "$path" >>"$WRK_LOG"
  run_bounded "$WRK_LOG" timeout -k 5 "$limit" wrk -t"$threads" \
    -c"$conns" -d"$dur" --latency -s "$script" "http://$HOST:$port$path" "$@" \
    || die "wrk failed for $name/$target (see $WRK_LOG)"
  t1=$(cpu_ticks "$pid")
  c1=$(ctx_switches "$pid")
  [[ -s $json ]] || die "wrk wrote no summary for $name/$target"
  [[ $kind == warmup ]] && return 0
  jq -c --arg case "$name" --arg target "$target" --arg kind "$kind" \
    --argjson round "$round" --argjson threads "$threads" \
    --argjson connections "$conns" --arg duration "$dur" \
    --arg method "$method" --arg path "$path" \
    --argjson cpu_ticks "$((t1 - t0))" --argjson hz "$(getconf CLK_TCK)" \
    --argjson ctx "$((c1 - c0))" --arg load "$load" \
    '{case: $case, target: $target, kind: $kind, round: $round,
      threads: $threads, connections: $connections, duration: $duration,
      method: $method, path: $path, loadavg_before: $load,
      server_cpu_s: ($cpu_ticks / $hz), server_ctx_switches: $ctx} + .' \
    "$json" >>"$RUNS"
  jq -r '"  \(.case) \(.target) \(.kind)#\(.round): \(.requests / (.duration_us / 1e6) | floor) req/s, p50 \(.latency_us.p50) us, p99 \(.latency_us.p99) us, non-2xx \(.errors.status), bad \(.bad_responses), load \(.loadavg_before)"' \
    <<<"$(tail -1 "$RUNS")" >&2
}

# Benchmarks one request shape against one or more targets.
#
#   bench_case NAME METHOD PATH [BODY_FILE|SCRIPT.lua] [wrk args...]
#
# BODY_FILE is sent as the body (Content-Type application/json unless a -H
# says otherwise); a .lua script may define request()/init()/setup() (not
# done(), which the harness owns). Extra wrk args come last, e.g.
#   -H "Authorization: Bearer $token"   or   -- 10000   (script arguments).
# Targets come from BENCH_TARGETS (default "service"; "service bare" to
# compare with the baseline, which answers every path with 200).
bench_case() {
  local name=$1 method=$2 path=$3 extra=${4:-}
  shift 3
  [[ $# -gt 0 ]] && shift
  local targets=${BENCH_TARGETS:-service} t r
  log "case $name: $method $path on [$targets]"
  for t in $targets; do
    curl -s -o /dev/null -X "$method" \
      -w "{\"case\":\"$name\",\"target\":\"$t\",\"status\":%{http_code},\"header_bytes\":%{size_header},\"body_bytes\":%{size_download}}\n" \
      "http://$HOST:$(target_port "$t")$path" >>"$SIZES" || true
    run_wrk "$name" "$t" warmup 0 "$WRK_THREADS" "$CONNECTIONS" "$WARMUP" \
      "$method" "$path" "$extra" "$@"
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in $targets; do
      run_wrk "$name" "$t" load "$r" "$WRK_THREADS" "$CONNECTIONS" \
        "$DURATION" "$method" "$path" "$extra" "$@"
    done
  done
  for t in $targets; do
    sample_rss "$name" "$t" after_load
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in $targets; do
      run_wrk "$name" "$t" latency "$r" 1 1 "$LAT_DURATION" \
        "$method" "$path" "$extra" "$@"
    done
  done
  for t in $targets; do
    sample_rss "$name" "$t" after_latency
  done
}

# -- cases --------------------------------------------------------------------

# mail_gauges: one JSON line {t, queue_depth, sent_total} from /metrics.
mail_gauges() {
  local text
  text=$(curl -fsS -m 5 "http://$HOST:$SERVICE_PORT/metrics" 2>/dev/null) \
    || return 1
  awk -v t="$(date +%s.%N)" '
    /^#/ {next}
    $1 ~ /email_queue_depth$/ {d = $2}
    $1 ~ /emails_sent_total$/ {s = $2}
    END {printf "{\"t\":%.3f,\"queue_depth\":%d,\"sent_total\":%d}\n", t, d, s}' <<<"$text"
}

# Samples the mail queue every second into FILE until killed.
sample_mail() {
  local out=$1
  while :; do
    mail_gauges >>"$out" || true
    sleep 1
  done
}

# one_shot CASE PATH MODE EXPECT: ROUNDS rounds of single-use bodies made
# by prepare.py MODE, each sent once (bench/one_shot.lua); an answer
# without EXPECT in its body fails the run.
one_shot() {
  local name=$1 path=$2 mode=$3 expect=$4 n=${LINK_TOKENS:-10000} r
  log "case $name: POST $path, $n single-use bodies a round ($mode)"
  for ((r = 1; r <= ROUNDS; r++)); do
    python3 "$ROOT/bench/prepare.py" "$mode" "http://$HOST:$SERVICE_PORT" \
      "$TMP/service/data/outbox" "$n" "$TMP/$name-bodies.txt" >/dev/null \
      || die "could not prepare $n bodies for $name"
    run_wrk "$name" service load "$r" "$WRK_THREADS" "$CONNECTIONS" \
      "${LINK_DURATION:-30s}" POST "$path" "$ROOT/bench/one_shot.lua" \
      -- "$TMP/$name-bodies.txt" "$WRK_THREADS" "$path" "$expect"
  done
  sample_rss "$name" service after_load
}

# Fails the run unless GET PATH with the token answers 200 with EXPECT.
probe_body() {
  local path=$1 token=$2 expect=$3 body
  body=$(curl -fsS -m 5 -H "Authorization: Bearer $token" \
           "http://$HOST:$SERVICE_PORT$path") \
    || die "probe $path: not 2xx"
  [[ $body == *"$expect"* ]] || die "probe $path: body lacks $expect: $body"
}

session_token() {
  [[ -n ${TOKEN:-} ]] || TOKEN=$(python3 "$ROOT/bench/prepare.py" token \
    "http://$HOST:$SERVICE_PORT" "$TMP/service/data/outbox")
  echo "$TOKEN"
}


# Add cases here; select them with CASES="liveness email_start".
run_case() {
  case $1 in
    liveness)
      BENCH_TARGETS="service bare" bench_case liveness GET /liveness
      ;;
    email_start)
      # Rotates 10,000 addresses (see email_start.lua) for START_DURATION a
      # round while the mail queue is sampled every second, then watches it
      # drain for up to DRAIN_WAIT: accepted starts and mail written should
      # keep pace (queue depth bounded, not growing).
      local samples=$TMP/mail-samples.jsonl sampler waited=0
      local drain
      drain=$(seconds "${DRAIN_WAIT:-120s}")
      : >"$samples"
      sample_mail "$samples" &
      sampler=$!
      STARTED+=("$sampler")
      DURATION=${START_DURATION:-60s} bench_case email_start POST \
        /v1/auth/email/start "$ROOT/bench/email_start.lua" -- 10000
      local loaded
      loaded=$(tail -1 "$samples" | jq -r .t)
      while ((waited < drain)); do
        [[ $(mail_gauges | jq -r .queue_depth) == 0 ]] && break
        sleep 1
        waited=$((waited + 1))
      done
      kill "$sampler" 2>/dev/null || true
      wait "$sampler" 2>/dev/null || true
      mail_gauges >>"$samples"
      jq -s -c --argjson loaded "$loaded" \
        '{case: "email_start_mail", samples: ., load_ended_at: $loaded}' \
        "$samples" >>"$EXTRA"
      ;;
    session)
      # A valid bearer token; the check never reads the database.
      local token
      token=$(session_token)
      probe_body /v1/session "$token" '"user"'
      BENCH_TARGETS="service bare" bench_case session GET /v1/session "" \
        -H "Authorization: Bearer $token"
      probe_body /v1/session "$token" '"user"'
      ;;
    email_link)
      # Single-use tokens: every round gets fresh ones and there is no
      # warm-up; generating them waits for their mail.
      one_shot email_link /v1/auth/email/link links '"access_token"'
      ;;
    verify_code)
      one_shot verify_code /v1/auth/email/verify-code codes '"access_token"'
      ;;
    refresh)
      one_shot refresh /v1/token/refresh refresh '"refresh_token"'
      ;;
    passkey)
      one_shot passkey /v1/webauthn/login/verify passkeys '"access_token"'
      ;;
    caf_verify)
      # One remote CAF client (bench/caf_verify_bench), CAF_INFLIGHT calls
      # in flight, for DURATION.
      local token port out load
      token=$(session_token)
      port=$CAF_PORT
      log "case caf_verify: port $port, ${CAF_INFLIGHT:-64} in flight"
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      out=$(timeout -k 5 $(($(seconds "$DURATION") + 60)) \
              "$BUILD_DIR/bench/caf_verify_bench" "$HOST" "$port" "$token" \
              --inflight "${CAF_INFLIGHT:-64}" --seconds "$(seconds "$DURATION")") \
        || die "caf_verify_bench failed: $out"
      log "  caf_verify: $out"
      jq -c --arg load "$load" \
        '{case: "caf_verify", loadavg_before: $load} + .' <<<"$out" >>"$EXTRA"
      ;;
    *) die "unknown case '$1'" ;;
  esac
}

# -- main ---------------------------------------------------------------------

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
start_service
start_bare
sample_rss startup service idle
sample_rss startup bare idle
for c in $CASES; do
  run_case "$c"
done
sample_rss final service after_all

GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown) \
NPROC=$(nproc) LOAD_BEFORE=$LOAD_BEFORE DURATION=$DURATION \
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg) \
CONNECTIONS=$CONNECTIONS WRK_THREADS=$WRK_THREADS ROUNDS=$ROUNDS \
WARMUP=$WARMUP LAT_DURATION=$LAT_DURATION BARE_THREADS=$BARE_THREADS \
SERVICE_ARGS=$SERVICE_ARGS \
  python3 "$ROOT/bench/summarize.py" "$RUNS" "$RSS" "$SIZES" "$RESULTS" "$EXTRA"
