"""Fault drills (issue 15), each bounded and on loopback only:

- kill -9 of the service under a load of email starts, link consumptions
  and refreshes: after a restart every acknowledged request is intact;
- disk full (a small tmpfs holding the database and the outbox): writes
  answer 503, reads and token checks keep working, and the service
  recovers by itself when space returns;
- a database locked by a second process for seconds: 503 within the
  deadline instead of a pile-up, bounded memory, recovery;
- overload (wrk, many pipelined connections, ~15 s): /liveness and the
  token check keep answering in bounded time while the excess is shed with
  503 + Retry-After, RSS stays bounded, no acknowledged start is lost.

docs/reliability.md ("Fault drills") records, for each drill, the
protection it checks, the removal that makes it fail and the failure seen.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import skip_on_postgres, wait_until
from drill_tools import (SANITIZED, Sampler, check_database, connect,
                         percentile, rss_growth_bound_kb, rss_kb, run_wrk,
                         timed)
from pa_flows import (bearer, mail_link_and_code, outbox_messages, sign_in,
                      start, wait_for_mail)


def acked_503(r):
    """A 503 in the documented shape, with the request id and Retry-After."""
    if r.status != 503:
        return False
    err = r.json()["error"]
    return (err["code"] == "service_unavailable" and err["request_id"]
            and r.header("Retry-After") == "1")


def mails_to(server, addr):
    return [m for m in outbox_messages(server)
            if addr.lower() in str(m["To"]).lower()]


# -- kill -9 under load ---------------------------------------------------------

KILL_ENV = {
    # A send the crash interrupted is claimed again soon after the restart.
    "PA_MAIL_LEASE_TIMEOUT": "2",
    # The refresh in flight at the kill may have committed unacknowledged:
    # the acknowledged token is then its predecessor, which the grace
    # window answers with the same successor (what a client that lost an
    # answer relies on).
    "PA_TOKENS_REFRESH_GRACE": "60",
}


def test_kill_9_under_load_keeps_every_acknowledged_request(start_server,
                                                            tmp_path):
    workdir = tmp_path / "srv-kill"
    s = start_server(workdir=workdir, env=KILL_ENV)
    chains = [sign_in(s, f"chain{i}@example.com") for i in range(3)]
    link_addrs = [f"link{i}@example.com" for i in range(12)]
    for a in link_addrs:
        start(s.client, a)
    links = [mail_link_and_code(wait_for_mail(s, a)[0])[1]
             for a in link_addrs]

    stop = threading.Event()
    acked_starts, acked_links = [], []
    acked_refresh = {i: c["refresh_token"] for i, c in enumerate(chains)}
    acks = {"refresh": 0}

    def starter(tid):
        i = 0
        while not stop.is_set():
            i += 1
            addr = f"k9-{tid}-{i}@example.com"
            r, _ = timed(lambda: s.client.post(
                "/v1/auth/email/start", json={"email": addr}, timeout=5))
            if getattr(r, "status", None) == 202:
                acked_starts.append(addr)

    def linker():
        for tok in links:
            if stop.is_set():
                return
            r, _ = timed(lambda: s.client.post(
                "/v1/auth/email/link", json={"token": tok}, timeout=5))
            if getattr(r, "status", None) == 200:
                acked_links.append(r.json())

    def refresher(i):
        while not stop.is_set():
            r, _ = timed(lambda: s.client.post(
                "/v1/token/refresh",
                json={"refresh_token": acked_refresh[i]}, timeout=5))
            if getattr(r, "status", None) == 200:
                acked_refresh[i] = r.json()["refresh_token"]
                acks["refresh"] += 1

    threads = [threading.Thread(target=starter, args=(t,)) for t in range(2)]
    threads += [threading.Thread(target=linker)]
    threads += [threading.Thread(target=refresher, args=(i,))
                for i in range(len(chains))]
    for t in threads:
        t.start()
    # Kill in the middle of the load, once each kind has been acknowledged.
    wait_until(lambda: len(acked_starts) >= 20 and len(acked_links) >= 4
               and acks["refresh"] >= 10, timeout=30, what="load under way")
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=20)

    check_database(workdir / "auth.db")
    s2 = start_server(workdir=workdir, env=KILL_ENV)
    # Every acknowledged start's mail goes out, exactly once.
    with connect(workdir / "auth.db") as conn:
        wait_until(lambda: conn.execute(
            "SELECT COUNT(*) FROM mail_jobs WHERE status IN "
            "('queued', 'sending')").fetchone()[0] == 0,
            timeout=30, what="the mail queue drained after the restart")
    counts = {}
    for m in outbox_messages(s2):
        to = str(m["To"]).lower()
        counts[to] = counts.get(to, 0) + 1
    assert all(n == 1 for n in counts.values()), \
        {k: v for k, v in counts.items() if v != 1}
    missing = [a for a in acked_starts if counts.get(a, 0) != 1]
    assert not missing, f"acknowledged starts without their mail: {missing}"
    # Every acknowledged link sign-in has its session.
    for t in acked_links:
        r = s2.client.get("/v1/session", headers=bearer(t))
        assert r.status == 200, r
    # Every acknowledged refresh's successor works.
    for i, tok in acked_refresh.items():
        r = s2.client.post("/v1/token/refresh", json={"refresh_token": tok})
        assert r.status == 200, (i, r)
    check_database(workdir / "auth.db")


# -- refused writes in /health and /readiness ----------------------------------

def check_refusal_reported(s, reason):
    """While the database refuses writes, /health says so (503 degraded, the
    owner, the reason and since when) and /readiness stays 200 but names it
    (docs/operations.md, "Disk full or locked database")."""
    r = s.client.get("/health")
    assert r.status == 503, r
    h = r.json()
    assert h["status"] == "degraded" and \
        h["checks"]["database"] == "refusing_writes", h
    db = h["database"]
    assert db["writes"] == "refused" and db["reason"] == reason, h
    assert time.time() - 120 < db["refusing_since"] <= time.time() + 1, db
    assert db["writes_refused"] >= 0, db
    r = s.client.get("/readiness")
    assert r.status == 200, r
    assert r.json()["checks"]["database_writes"] == "refused: " + reason, \
        r.json()


def check_writes_taken_reported(s):
    h = wait_until(lambda: (lambda r: r.json() if r.status == 200 else None)(
        s.client.get("/health")), what="health ok after the refusals")
    assert h["checks"]["database"] == "ok" and \
        h["database"] == {"writes": "ok"}, h
    r = s.client.get("/readiness")
    assert r.status == 200 and r.json() == {"status": "ready"}, r


# -- disk full ----------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 12 MiB file system of its own: tmpfs, or else a loop-mounted ext4
    file (both need root)."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m,mode=0700",
                         "tmpfs", str(mnt)], capture_output=True).returncode
    if ok != 0:
        img = tmp_path / "disk.img"
        subprocess.run(["truncate", "-s", "12M", str(img)], check=True)
        made = subprocess.run(["mkfs.ext4", "-q", str(img)],
                              capture_output=True).returncode == 0
        if not made or subprocess.run(
                ["mount", "-o", "loop", str(img), str(mnt)],
                capture_output=True).returncode != 0:
            pytest.skip("cannot mount a small file system (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path):
    """Writes `path` until the file system is full (unbuffered, so nothing
    is left to fail at close)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


@skip_on_postgres("the disk that fills is the one under the SQLite file")
def test_disk_full_refuses_writes_keeps_reads_and_recovers(start_server,
                                                           small_disk):
    env = {"PA_MAIL_LEASE_TIMEOUT": "2", "PA_MAIL_RETRY_FIRST_DELAY": "1",
           "PA_MAIL_RETRY_CAP": "1"}
    s = start_server(workdir=small_disk / "srv", env=env)
    tokens = sign_in(s, "full@example.com")
    filler = small_disk / "filler"
    fill(filler)
    # Writes: every answer is 202 (while SQLite still finds room in pages
    # it holds) or the documented 503; none is a 500. The database stops
    # taking writes within a few requests.
    refused = None
    acked = []
    for i in range(300):
        addr = f"df{i}@example.com"
        r = s.client.post("/v1/auth/email/start", json={"email": addr})
        assert r.status in (202, 503), r
        if r.status == 202:
            acked.append(addr)
            continue
        assert acked_503(r), r
        refused = r
        break
    assert refused is not None, "writes never failed on a full disk"
    ev = s.wait_event("database-refusing-writes")
    assert ev["reason"] == "disk_full", ev
    check_refusal_reported(s, "disk_full")
    # A refresh is a write too.
    r = s.client.post("/v1/token/refresh",
                      json={"refresh_token": tokens["refresh_token"]})
    assert acked_503(r), r
    # Reads and token checks keep working.
    for _ in range(5):
        assert s.client.get("/v1/session", headers=bearer(tokens)).status == 200
        assert s.client.get("/v1/me", headers=bearer(tokens)).status == 200
        assert s.client.get("/liveness").status == 200
    # Space returns: the service takes writes again by itself.
    filler.unlink()
    r = wait_until(lambda: (lambda r: r if r.status == 202 else None)(
        s.client.post("/v1/auth/email/start",
                      json={"email": "after@example.com"})),
        timeout=10, what="writes accepted again")
    s.wait_event("database-writes-recovered")
    check_writes_taken_reported(s)
    r = s.client.post("/v1/token/refresh",
                      json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200, r
    # Every acknowledged start's mail arrives, the mails the full outbox
    # refused included.
    for addr in acked + ["after@example.com"]:
        wait_for_mail(s, addr, timeout=20)
    assert s.stop() == 0
    check_database(small_disk / "srv" / "auth.db")


# -- a database locked by another process --------------------------------------

LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
print("released", flush=True)
"""


@skip_on_postgres("a second process holding SQLite's write lock")
def test_locked_database_answers_503_in_time_and_recovers(start_server):
    busy_ms = 2000
    s = start_server(env={"PA_DATABASE_BUSY_TIMEOUT_MS": str(busy_ms),
                          "PA_RATE_LIMIT_ENABLED": "false"})
    tokens = sign_in(s, "locked@example.com")
    base_rss = rss_kb(s.proc.pid)
    hold = 6.0
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(s.workdir / "auth.db"),
         str(hold)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    locked_at = time.monotonic()
    results = []  # (started, status or exception, seconds)
    stop = threading.Event()

    def writer(tid):
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.monotonic()
            r, dt = timed(lambda: s.client.post(
                "/v1/auth/email/start",
                json={"email": f"lk-{tid}-{i}@example.com"}, timeout=15))
            results.append((t0, r, dt))

    with Sampler(s.proc.pid) as rss:
        threads = [threading.Thread(target=writer, args=(t,))
                   for t in range(8)]
        for t in threads:
            t.start()
        s.wait_event("database-refusing-writes", timeout=busy_ms / 1000 + 5)
        check_refusal_reported(s, "locked")
        # Once writes are refused, reads and token checks answer promptly.
        reads = []
        while time.monotonic() - locked_at < hold - 1:
            r, dt = timed(lambda: s.client.get("/v1/me",
                                               headers=bearer(tokens)))
            assert r.status == 200, r
            r2, dt2 = timed(lambda: s.client.get("/v1/session",
                                                 headers=bearer(tokens)))
            assert r2.status == 200, r2
            reads += [dt, dt2]
        assert holder.stdout.readline().strip() == "released"
        holder.wait(timeout=5)
        # Recovery: new writes are taken again at once.
        r = wait_until(lambda: (lambda r: r if r.status == 202 else None)(
            s.client.post("/v1/auth/email/start",
                          json={"email": "back@example.com"})),
            timeout=5, what="writes accepted after the lock went")
        stop.set()
        for t in threads:
            t.join(timeout=30)
    during = [(r, dt) for t0, r, dt in results if t0 < locked_at + hold]
    statuses = [getattr(r, "status", repr(r)) for r, _ in during]
    assert set(statuses) <= {202, 503}, statuses
    assert statuses.count(503) >= 8, statuses
    assert all(acked_503(r) for r, _ in during if r.status == 503)
    # Within the deadline: no request waits much beyond one lock wait,
    # instead of queueing behind every earlier one.
    slowest = max(dt for _, dt in during)
    assert slowest < busy_ms / 1000 + 1.5, slowest
    assert max(reads) < 1.0, max(reads)
    assert rss.peak_kb - base_rss < rss_growth_bound_kb(64), (base_rss,
                                                            rss.peak_kb)
    s.wait_event("database-writes-recovered")
    check_writes_taken_reported(s)
    check_database(s.workdir / "auth.db")


# -- overload -------------------------------------------------------------------

# Documented bound (docs/reliability.md): the service's RSS under the
# overload drill stays below this.
OVERLOAD_RSS_BOUND_MB = 256
# Documented bound: p99 of /liveness and of the token check (GET /v1/session)
# under the overload drill, in Release.
PROBE_P99_BOUND_MS = 500
# Under the sanitizers the I/O thread itself saturates (CI, 2026-12-04:
# 2,361 requests/s offered against 18,590 in Release, 7.9x slower per
# request), so the offered rate is the I/O thread's ceiling whatever the
# connection count, while each connection's pipelined requests are one more
# share of every round of the I/O loop that a probe waits through (Little's
# law: 2,048 outstanding at 2,361/s is 0.87 s per round; a probe needs a few
# rounds, and CI measured a /liveness p99 of 4.4 s). Half the connections
# keep the same rate (asserted below: still several times the sustainable
# one) with half the rounds' length; the bound is ten times Release's, as
# the service is about eight times slower there.
OVERLOAD_CONNECTIONS = 128 if SANITIZED else 256
PROBE_SLOWDOWN = 10 if SANITIZED else 1


def test_overload_sheds_with_retry_after_and_keeps_probes_fast(start_server,
                                                               tmp_path):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is missing (scripts/install-deps.sh installs it)")
    env = {"PA_RATE_LIMIT_ENABLED": "false",
           "PA_SERVER_MAX_CONNECTIONS_PER_IP": "0",
           "PA_SERVER_MAX_IN_FLIGHT": os.environ.get("PA_DRILL_IN_FLIGHT",
                                                     "64"),
           "PA_LOG_LEVEL": "warn"}
    s = start_server(env=env)
    tokens = sign_in(s, "probe@example.com")
    # The sustainable rate: a few connections, nothing shed.
    base = run_wrk(s.base, tmp_path, seconds=3, connections=4)
    sustainable = base["statuses"].get("202", 0) / (base["duration_us"] / 1e6)
    assert base["statuses"].get("503", 0) == 0, base

    probes = {"liveness": [], "session": []}
    timeline = []
    failures = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            for name, path in (("liveness", "/liveness"),
                               ("session", "/v1/session")):
                r, dt = timed(lambda: s.client.get(
                    path, headers=bearer(tokens), timeout=10))
                if getattr(r, "status", None) == 200:
                    probes[name].append(dt)
                elif getattr(r, "status", None) == 503 and name == "session":
                    probes[name].append(dt)  # shed, but answered at once
                else:
                    failures.append((name, r))
                # When in the run each probe was sent, for the report's
                # slowest probes (a stall at wrk's start reads differently
                # from queues that grow).
                timeline.append((name, round(time.monotonic() - t_load, 2),
                                 round(dt * 1000, 1),
                                 getattr(r, "status", type(r).__name__)))
            stop.wait(0.05)

    base_rss = rss_kb(s.proc.pid)
    with Sampler(s.proc.pid) as rss:
        t = threading.Thread(target=probe)
        t_load = time.monotonic()
        t.start()
        load = run_wrk(s.base, tmp_path, seconds=15,
                       connections=OVERLOAD_CONNECTIONS, threads=1, depth=8)
        stop.set()
        t.join()
    offered = load["requests"] / (load["duration_us"] / 1e6)
    st = load["statuses"]
    report = {"sustainable_per_s": round(sustainable),
              "offered_per_s": round(offered),
              "statuses": st, "retry_after": load["retry_after"],
              "rss_peak_mb": rss.peak_kb // 1024,
              "liveness_p99_ms": round(percentile(probes["liveness"], .99)
                                       * 1000, 1),
              "session_p99_ms": round(percentile(probes["session"], .99)
                                      * 1000, 1),
              "slowest_probes": sorted(timeline, key=lambda x: -x[2])[:5],
              "probes": len(timeline)}
    if os.environ.get("PA_DRILL_TIMELINE"):
        print("TIMELINE", json.dumps(timeline))
    print("OVERLOAD", json.dumps(report))
    assert set(st) <= {"202", "503"}, report
    assert st.get("503", 0) > 0 and load["retry_after"] == st["503"], report
    assert not failures, failures[:5]
    # A probe every 50 ms plus its two answers: at least 20 rounds in the
    # 15 s (10 under the sanitizers, whose service is several times slower).
    assert len(probes["liveness"]) >= (10 if SANITIZED else 20), report
    if SANITIZED:
        assert rss.peak_kb - base_rss < rss_growth_bound_kb(
            OVERLOAD_RSS_BOUND_MB), (base_rss, report)
    else:
        assert rss.peak_kb < OVERLOAD_RSS_BOUND_MB * 1024, report
    # No acknowledged start is lost: each 202 has its flow and mail job.
    with connect(s.workdir / "auth.db") as conn:
        flows = conn.execute(
            "SELECT COUNT(*) FROM email_flows WHERE email LIKE 'load-%'"
        ).fetchone()[0]
    assert flows >= st.get("202", 0) + base["statuses"].get("202", 0), report
    check_database(s.workdir / "auth.db")
    # The latency bound (docs/reliability.md, "Overload"): shed requests are
    # answered on the I/O thread and never reach an actor, so the probes
    # queue behind at most server.max_in_flight admitted requests. Measured
    # on the shared 2-core box (load average 10): p99 107-214 ms; with the
    # shedding removed the token check's p99 was 508 ms (and 3.2 s in an
    # earlier run). Under the sanitizers the service is several times
    # slower (OVERLOAD_CONNECTIONS above).
    bound_ms = PROBE_P99_BOUND_MS * PROBE_SLOWDOWN
    assert report["liveness_p99_ms"] < bound_ms, report
    assert report["session_p99_ms"] < bound_ms, report
