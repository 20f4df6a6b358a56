#!/usr/bin/python3
"""The 1M-session curve (issue 13): RSS and token-check throughput with
1k / 100k / 1M live sessions loaded directly into the database.

For each size: a fresh data directory; the service starts once to create
the schema and stops; N users, sessions and live refresh tokens are
written with sqlite3 in one transaction (plausible sizes: 36-char ids, an
address, a user agent, ~30 days to live); the service starts again and
loads them all into memory. Then one real code sign-in gives a token, and
`wrk -t2 -c64` on GET /v1/session measures the check (rounds alternate with
bench/bare_server, as in bench/run.sh), after which RSS is read from
/proc. Everything listens on 127.0.0.1 and is stopped at the end.

Usage (from the repository root, after building):
  /usr/bin/python3 bench/session_scale.py [BUILD_DIR] [SIZES...]
  e.g. bench/session_scale.py build 1000 100000 1000000
Knobs: DURATION=10s ROUNDS=2. Writes bench/results/session-scale.json.
"""
import hashlib
import json
import os
import pathlib
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = (pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build").resolve()
SIZES = [int(x) for x in sys.argv[2:]] or [1000, 100_000, 1_000_000]
DURATION = os.environ.get("DURATION", "10s")
ROUNDS = int(os.environ.get("ROUNDS", "2"))

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from pa_client import Client  # noqa: E402
from pa_flows import sign_in  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from bench_service import service_env  # noqa: E402


class Service:
    """The service at log level warn (request lines are info), found on
    its port with ss, ready once GET /readiness answers 200 (which waits
    for the sessions to be loaded)."""

    def __init__(self, workdir, ready_timeout=900):
        self.workdir = pathlib.Path(workdir)
        env = service_env(self.workdir, PA_MAIL_POLL_INTERVAL="0.2")
        self.log = open(self.workdir / "service.log", "w")
        self.proc = subprocess.Popen(
            [str(BUILD / "passwordless-auth"), "--set", "server.host=127.0.0.1",
             "--set", "server.port=0"], cwd=self.workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = listening_port(self.proc.pid, 30)
        self.client = Client(f"http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + ready_timeout
        while self.client.get("/readiness").status != 200:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                sys.exit("the service never became ready")
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def listening_port(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ss = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
        ports = [int(l.split()[3].rsplit(":", 1)[1]) for l in ss.splitlines()
                 if f"pid={pid}," in l and "127.0.0.1:" in l]
        if ports:
            return min(ports)
        time.sleep(0.1)
    sys.exit(f"pid {pid} never listened")


def status_kb(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def load_rows(db_path, n):
    now = int(time.time())
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        for start in range(0, n, 50_000):
            users, sessions, tokens = [], [], []
            for i in range(start, min(n, start + 50_000)):
                uid, sid = str(uuid.uuid4()), str(uuid.uuid4())
                users.append((uid, f"scale-{i}@example.com", now, now))
                sessions.append((sid, uid, '["email_code"]', "192.0.2.1",
                                 "Mozilla/5.0 (X11; Linux x86_64) bench",
                                 now, now, now + 30 * 86400, now + 90 * 86400, now))
                tokens.append((hashlib.sha256(sid.encode()).hexdigest(), sid, now,
                               now + 30 * 86400))
            db.executemany("INSERT INTO users (id, email, created_at, updated_at) "
                           "VALUES (?, ?, ?, ?)", users)
            db.executemany("INSERT INTO sessions (id, user_id, amr, ip, user_agent, "
                           "created_at, last_seen_at, expires_at, "
                           "absolute_expires_at, auth_time) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sessions)
            db.executemany("INSERT INTO refresh_tokens (token_hash, session_id, "
                           "created_at, expires_at) VALUES (?, ?, ?, ?)", tokens)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def wrk(port, token):
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{DURATION}", "--latency",
         "-H", f"Authorization: Bearer {token}",
         f"http://127.0.0.1:{port}/v1/session"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def main():
    bare = subprocess.Popen([str(BUILD / "bench" / "bare_server"), "--host",
                             "127.0.0.1", "--port", "0", "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = []
    try:
        bare_port = listening_port(bare.pid, 10)
        for n in SIZES:
            with tempfile.TemporaryDirectory() as d:
                s = Service(d)
                s.stop()
                t = time.monotonic()
                load_rows(pathlib.Path(d) / "auth.db", n)
                write_s = time.monotonic() - t
                t = time.monotonic()
                s = Service(d)
                try:
                    load_s = time.monotonic() - t
                    rss_loaded = status_kb(s.proc.pid, "VmRSS")
                    live = re.search(r"^\S*active_sessions(?:\{\})? (\S+)$",
                                     s.client.get("/metrics").text, re.M)
                    token = sign_in(s, "scale-probe@example.com")["access_token"]
                    rounds = []
                    for _ in range(ROUNDS):
                        rounds.append(("service",) + wrk(s.port, token))
                        rounds.append(("bare",) + wrk(bare_port, token))
                    svc = [r for r in rounds if r[0] == "service"]
                    bar = [r for r in rounds if r[0] == "bare"]
                    rec = {
                        "sessions": n,
                        "sessions_live": float(live.group(1)) if live else None,
                        "write_seconds": round(write_s, 1),
                        "load_seconds": round(load_s, 1),
                        "rss_mib_after_load": round(rss_loaded / 1024, 1),
                        "rss_mib_after_load_run": round(status_kb(s.proc.pid, "VmRSS") / 1024, 1),
                        "hwm_mib": round(status_kb(s.proc.pid, "VmHWM") / 1024, 1),
                        "session_rps": round(sum(r[1] for r in svc) / len(svc)),
                        "bare_rps": round(sum(r[1] for r in bar) / len(bar)),
                        "session_p99_ms": max(r[2] for r in svc),
                        "non_2xx": sum(r[3] for r in svc),
                        "loadavg": open("/proc/loadavg").read().split()[:3],
                    }
                    rec["ratio"] = round(rec["session_rps"] / rec["bare_rps"], 3)
                    print(json.dumps(rec), flush=True)
                    results.append(rec)
                finally:
                    s.stop()
    finally:
        bare.terminate()
        bare.wait()
    if results:
        base = results[0]["session_rps"]
        for r in results:
            r["rps_vs_smallest"] = round(r["session_rps"] / base, 3)
    out = ROOT / "bench" / "results" / "session-scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'sessions':>9} {'rss MiB':>8} {'hwm MiB':>8} {'req/s':>8} "
          f"{'bare':>8} {'ratio':>6} {'vs 1st':>7} {'p99 ms':>7} {'load s':>7}")
    for r in results:
        print(f"{r['sessions']:>9} {r['rss_mib_after_load_run']:>8} {r['hwm_mib']:>8} "
              f"{r['session_rps']:>8} {r['bare_rps']:>8} {r['ratio']:>6} "
              f"{r['rps_vs_smallest']:>7} {r['session_p99_ms']:>7} {r['load_seconds']:>7}")
    if any(r["non_2xx"] for r in results):
        sys.exit("FAILED: non-2xx answers")


main()
