"""Helpers for the fault drills (test_fault_drills.py, bench/soak.sh):
process samples from /proc, a wrk run that counts statuses, and the
database checks made after a drill. Nothing here is mocked: the samples are
the real process's, the load is real HTTP over loopback."""
import json
import os
import pathlib
import subprocess
import threading
import time

import db_access


# The binary under test was built with ASan+UBSan (CMake sets PA_SANITIZED
# for the sanitizer build's ctest entries). Its memory is not the service's
# alone: ASan keeps freed blocks in a quarantine (quarantine_size_mb, 256 MB
# by default) to catch use after free, and pads every allocation with
# redzones, so the RSS bounds of the drills are documented twice
# (docs/reliability.md, "Fault drills"): the Release bound, and under the
# sanitizers the growth over the process's own start that the quarantine and
# redzones explain. A pile-up without bound still fails both.
SANITIZED = os.environ.get("PA_SANITIZED") == "1"
ASAN_QUARANTINE_MB = 256


def rss_growth_bound_kb(release_mb):
    """The RSS growth allowed during a drill whose Release bound is
    `release_mb`: under the sanitizers, twice it (redzones) plus the
    quarantine."""
    if SANITIZED:
        return (2 * release_mb + ASAN_QUARANTINE_MB) * 1024
    return release_mb * 1024


def rss_kb(pid):
    """Resident set size of `pid` in KiB (VmRSS)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Sampler:
    """Samples RSS (KiB) of a process every `interval` seconds in a thread."""

    def __init__(self, pid, interval=0.25):
        self.pid = pid
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(rss_kb(self.pid))
            except OSError:
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    @property
    def peak_kb(self):
        return max(self.samples) if self.samples else 0


# A wrk script for POST /v1/auth/email/start with a fresh address per
# request, pipelining `depth` requests per connection; it counts statuses
# and Retry-After headers per thread and prints them as JSON at the end.
WRK_EMAIL_START = r"""
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  statuses = {}
  retry_after = 0
  depth = tonumber(args[1] or "1")
end
function request()
  local out = {}
  for i = 1, depth do
    n = n + 1
    local body = '{"email":"load-' .. tid .. '-' .. n .. '@example.com"}'
    out[i] = wrk.format("POST", "/v1/auth/email/start",
                        {["Content-Type"] = "application/json"}, body)
  end
  return table.concat(out)
end
function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if status == 503 and headers["Retry-After"] then
    retry_after = retry_after + 1
  end
end
function done(summary, latency, requests)
  local total = {}
  local ra = 0
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
    ra = ra + t:get("retry_after")
  end
  local parts = {}
  for k, v in pairs(total) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  io.write(string.format(
    'WRK-RESULT {"statuses": {%s}, "retry_after": %d, "duration_us": %d, ' ..
    '"requests": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_timeout": %d, "p99_ms": %.2f}\n',
    table.concat(parts, ", "), ra, summary.duration, summary.requests,
    summary.errors.connect, summary.errors.read, summary.errors.timeout,
    latency:percentile(99) / 1000.0))
end
"""


def run_wrk(base, tmp_path, seconds, connections, threads=1, depth=1,
            timeout_s=10):
    """Runs wrk against POST /v1/auth/email/start; returns its counts."""
    script = pathlib.Path(tmp_path) / "email_start.lua"
    script.write_text(WRK_EMAIL_START)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
           f"--timeout={timeout_s}s", "-s", str(script), base, "--",
           str(depth)]
    p = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=seconds + 60)
    for line in p.stdout.splitlines():
        if line.startswith("WRK-RESULT "):
            return json.loads(line[len("WRK-RESULT "):])
    raise AssertionError(f"wrk printed no result: {p.stdout} {p.stderr}")


def timed(fn):
    """Calls fn(); returns (result or exception, seconds)."""
    t0 = time.monotonic()
    try:
        r = fn()
    except Exception as e:  # connection refused, reset, timeout
        r = e
    return r, time.monotonic() - t0


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return 0.0
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def connect(db_path):
    return db_access.connect(str(db_path), isolation_level=None, timeout=10)


def check_database(db_path):
    """What must hold in the database after any drill: SQLite's own checks,
    and no half-written unit visible (a session without its refresh token,
    a mailed flow without its mail job)."""
    with connect(db_path) as conn:
        # PostgreSQL checks its pages and foreign keys on every write; SQLite
        # is asked.
        if not db_access.on_postgres():
            assert conn.execute("PRAGMA integrity_check").fetchall() == [
                ("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = conn.execute(
            "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS "
            "(SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)"
        ).fetchone()[0]
        assert orphans == 0, f"{orphans} session(s) without a refresh token"
        broken = conn.execute(
            "SELECT COUNT(*) FROM refresh_tokens r WHERE r.replaced_by IS NOT "
            "NULL AND NOT EXISTS (SELECT 1 FROM refresh_tokens n "
            "WHERE n.token_hash = r.replaced_by)").fetchone()[0]
        assert broken == 0, f"{broken} rotation(s) without their successor"
        # Both counts in one statement, so in one snapshot: the service may
        # still be committing admitted starts (PostgreSQL's autocommit gives
        # each statement its own snapshot; two queries saw 9077 flows, then
        # 9137 jobs, in CI's overload drill).
        mailed, jobs = conn.execute(
            "SELECT (SELECT COUNT(*) FROM email_flows WHERE mailed = 1), "
            "(SELECT COUNT(*) FROM mail_jobs WHERE template = 'sign_in')"
        ).fetchone()
        assert mailed == jobs, f"{mailed} mailed flows but {jobs} mail jobs"
