#!/usr/bin/env python3
"""The scale-out benchmark (issue 14); run it through bench/scale_out.sh.

In one run on this machine, three set-ups one after the other, each on
fresh data:

  sqlite1   one node on SQLite (the embedded default)
  pg1       one node on PostgreSQL 15
  pg3       three nodes on one PostgreSQL database behind HAProxy
            (deploy/haproxy.cfg, its ports filled in)

and in each the same cases, with wrk -tWRK_THREADS -cCONNECTIONS on
loopback:

  session      GET /v1/session with a valid bearer token (a warm-up first)
  refresh      POST /v1/token/refresh, each of REFRESH_TOKENS single-use
               tokens once (bench/prepare.py refresh, bench/one_shot.lua)
  email_start  POST /v1/auth/email/start over 10,000 rotating addresses
               (bench/email_start.lua; a warm-up first)

A table on stdout (req/s, p50, p99, the ratio to sqlite1, CPU time per
1000 requests of the nodes, PostgreSQL and HAProxy, the load average before
each run) and every record in RESULTS (JSON). The per-case aggregation is
bench/summarize.py's. Exits 1 when any answer was not 2xx (or, for refresh,
lacked a refresh token), after printing and writing everything.

PostgreSQL runs as a production server would (fsync and full_page_writes
on); synchronous_commit=off is the counterpart of the service's SQLite
default (database.synchronous = "normal", WAL): see DurablePgServer in
tests/tools/pg_server.py.
"""
import json
import os
import resource
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
sys.path.insert(0, str(ROOT / "bench"))
from pg_server import DurablePgServer, free_port  # noqa: E402
from summarize import summarize  # noqa: E402
from bench_service import service_env  # noqa: E402

HOST = "127.0.0.1"
BIN = os.environ.get("SERVICE_BIN", str(ROOT / "build" / "passwordless-auth"))
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
# A variant of deploy/haproxy.cfg to compare (same bind and server lines).
HAPROXY_CFG = os.environ.get("HAPROXY_CFG", str(ROOT / "deploy" / "haproxy.cfg"))
DURATION = os.environ.get("DURATION", "5s")
WARMUP = os.environ.get("WARMUP", "2s")
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
WRK_THREADS = int(os.environ.get("WRK_THREADS", "2"))
REFRESH_TOKENS = int(os.environ.get("REFRESH_TOKENS", "4000"))
# wrk waits out -d even once one_shot.lua's threads are done: the upper
# bound of a refresh run (the CPU the processes spend idle after the
# active part is taken off, see idle_rate()).
REFRESH_BOUND = os.environ.get("REFRESH_BOUND", "20s")
SETUPS = os.environ.get("SETUPS", "sqlite1 pg1 pg3").split()
CASES = os.environ.get("CASES", "session refresh email_start").split()
RESULTS = pathlib.Path(os.environ.get(
    "RESULTS", ROOT / "bench" / "results" / "scale_out.json"))
HZ = os.sysconf("SC_CLK_TCK")
STARTED = []  # what this run started (stop()), stopped in reverse at the end

# The done() every bench wrk run uses: wrk's numbers as one JSON object.
REPORT_LUA = ROOT / "bench" / "wrk_report.lua"


def log(msg):
    print(f"scale_out: {msg}", file=sys.stderr, flush=True)


def seconds(v):
    return int(v[:-1]) * {"s": 1, "m": 60}[v[-1]] if v[-1] in "sm" else int(v)


# -- CPU accounting from /proc ------------------------------------------------

def stat_fields(pid):
    """/proc/PID/stat after the command name (which may hold blanks)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def ticks(pid):
    """utime + stime of one process, in clock ticks (0 once it is gone)."""
    try:
        s = stat_fields(pid)
    except OSError:
        return 0
    return int(s[11]) + int(s[12])


def tree_ticks(pid):
    """A server and its children (PostgreSQL's backends, one per
    connection): its own time, what its reaped children left in
    cutime/cstime, and each live child's time; the difference of two
    samples counts a child that ended in between exactly once."""
    try:
        s = stat_fields(pid)
    except OSError:
        return 0
    total = sum(int(x) for x in s[11:15])
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                c = stat_fields(d)
            except OSError:
                continue
            if c[1] == str(pid):
                total += int(c[11]) + int(c[12])
    return total


def loadavg():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# -- processes ------------------------------------------------------------------

class Service:
    """One passwordless-auth process on a port picked here (the service
    logs at warn, so its http-listening line is not there to read)."""

    def __init__(self, workdir, env_extra, args=()):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True)
        self.port = free_port()
        env = service_env(self.workdir, **{
            "PA_AUTH_EMAIL_HOURLY_CAP": "1000000",
            "PA_RATE_LIMIT_ENABLED": "true",
            # wrk is one client address with 64 connections, the warm-up's
            # maybe not all closed yet: no per-address connection cap.
            "PA_SERVER_MAX_CONNECTIONS_PER_IP": "0",
            **env_extra})
        self.outbox = pathlib.Path(env["PA_MAIL_OUTBOX_DIR"])
        self.log = open(self.workdir / "service.log", "w")
        self.proc = subprocess.Popen(
            [BIN, "--set", f"server.host={HOST}", "--set", f"server.port={self.port}",
             *args], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT)
        STARTED.append(self)
        self.base = f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"service exited: {(self.workdir / 'service.log').read_text()[-2000:]}")
            if status(self.base + "/readiness") == 200:
                return
            time.sleep(0.1)
        raise SystemExit(f"service on {self.port} never became ready")

    def stop(self):
        stop_proc(self.proc)
        self.log.close()
        if self in STARTED:
            STARTED.remove(self)


def stop_proc(proc, sig=signal.SIGTERM):
    """Stops one child we started, by its PID: the signal, 15 s, SIGKILL."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Haproxy:
    """deploy/haproxy.cfg with its front on a free port and its servers the
    nodes' ports; in the foreground (-db), stopped by its PID."""

    def __init__(self, workdir, ports):
        text = pathlib.Path(HAPROXY_CFG).read_text()
        self.port = free_port()
        subs = [(r"^(\s*)bind :8080\s*$", rf"\g<1>bind {HOST}:{self.port}", 1)]
        # Each node's address is in two lines: its checked server and its
        # unchecked fallback.
        subs += [(rf"\b10\.0\.0\.1{i}:3000\b", f"{HOST}:{p}", 2)
                 for i, p in enumerate(ports, 1)]
        for pattern, repl, lines in subs:
            text, n = re.subn(pattern, repl, text, flags=re.M)
            if n != lines:
                raise SystemExit(f"deploy/haproxy.cfg: {n} lines match {pattern}")
        cfg = pathlib.Path(workdir) / "haproxy.cfg"
        cfg.write_text(text)
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], check=True)
        # Its request log goes to stdout as deployed; here to a file.
        self.log = open(pathlib.Path(workdir) / "haproxy.log", "w")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        STARTED.append(self)
        self.base = f"http://{HOST}:{self.port}"
        deadline = time.monotonic() + 15
        while status(self.base + "/readiness") != 200:
            if time.monotonic() > deadline:
                raise SystemExit("HAProxy did not answer")
            time.sleep(0.1)

    def stop(self):
        stop_proc(self.proc)
        self.log.close()
        if self in STARTED:
            STARTED.remove(self)


class Setup:
    """The processes of one set-up and how to measure them."""

    def __init__(self, name, tmp, pg):
        self.name = name
        self.nodes = []
        self.haproxy = None
        self.pg = pg if name.startswith("pg") else None
        d = pathlib.Path(tmp) / name
        if name == "sqlite1":
            self.nodes = [Service(d / "node", {})]
        else:
            db = name
            pg.psql(f"CREATE DATABASE {db} OWNER pa")
            url = pg.url.rsplit("/", 1)[0] + "/" + db
            count = 3 if name == "pg3" else 1
            # One outbox for the nodes of a set-up: prepare.py reads the
            # mail whichever node sent it.
            env = {"PA_DATABASE_URL": url, "PA_MAIL_OUTBOX_DIR": str(d / "outbox")}
            args = ["--set", f"server.trusted_proxies={HOST}/32"] if count > 1 else []
            self.nodes = [Service(d / f"node{i}", env, args) for i in range(count)]
        for n in self.nodes:
            n.wait_ready()
        if name == "pg3":
            self.haproxy = Haproxy(d, [n.port for n in self.nodes])
        self.base = self.haproxy.base if self.haproxy else self.nodes[0].base
        self.outbox = self.nodes[0].outbox

    def cpu(self):
        """Clock ticks so far: {nodes, postgres, haproxy}."""
        return {"nodes": sum(ticks(n.proc.pid) for n in self.nodes),
                "postgres": tree_ticks(self.pg.postmaster_pid()) if self.pg else 0,
                "haproxy": ticks(self.haproxy.proc.pid) if self.haproxy else 0}

    def idle_rate(self, secs=3.0):
        """CPU seconds per second each group spends with no requests (the
        nodes' polls and listeners, PostgreSQL's background work)."""
        c0, t0 = self.cpu(), time.monotonic()
        time.sleep(secs)
        c1, t1 = self.cpu(), time.monotonic()
        self.idle = {k: (c1[k] - c0[k]) / HZ / (t1 - t0) for k in c0}
        log(f"  {self.name} idle: " + ", ".join(
            f"{k} {v * 1000:.1f} ms/s" for k, v in self.idle.items()))
        return self.idle

    def stop(self):
        if self.haproxy:
            self.haproxy.stop()
        for n in self.nodes:
            n.stop()


# -- wrk ------------------------------------------------------------------------

def run_wrk(setup, tmp, case, kind, dur, path, lua=None, method="GET",
            headers=(), script_args=()):
    """One wrk run against the set-up's front; @returns its record (or
    None for a warm-up)."""
    out = pathlib.Path(tmp) / f"{setup.name}-{case}-{kind}.json"
    script = pathlib.Path(tmp) / f"{setup.name}-{case}-{kind}.lua"
    body = f'wrk.method = "{method}"\n'
    if lua:
        body += pathlib.Path(lua).read_text() + "\n"
    script.write_text(body + f"report_path = [==[{out}]==]\n"
                      + REPORT_LUA.read_text())
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{dur}", "--latency",
           "-s", str(script)]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(setup.base + path)
    if script_args:
        cmd += ["--", *script_args]
    load = loadavg()
    c0 = setup.cpu()
    w0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds(dur) + 60)
    wall = time.monotonic() - t0
    w1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c1 = setup.cpu()
    if p.returncode != 0 or not out.exists():
        raise SystemExit(f"wrk failed for {setup.name}/{case}: {p.stdout}{p.stderr}")
    if kind == "warmup":
        return None
    rec = json.loads(out.read_text())
    # The time after the active part (one_shot.lua's threads done, wrk
    # waiting out -d) is idle: its idle CPU is taken off.
    idle_s = max(0.0, wall - rec["duration_us"] / 1e6)
    cpu = {k: max(0.0, (c1[k] - c0[k]) / HZ - setup.idle[k] * idle_s) for k in c0}
    cpu["wrk"] = (w1.ru_utime + w1.ru_stime) - (w0.ru_utime + w0.ru_stime)
    rec.update({"case": case, "target": setup.name, "kind": kind, "round": 1,
                "loadavg_before": load, "cpu_s": cpu,
                "server_cpu_s": cpu["nodes"], "server_ctx_switches": 0,
                "nodes": len(setup.nodes)})
    rps = rec["requests"] / (rec["duration_us"] / 1e6)
    log(f"  {setup.name} {case}: {rps:.0f} req/s, p50 {rec['latency_us']['p50']} us, "
        f"p99 {rec['latency_us']['p99']} us, non-2xx {rec['errors']['status']}, "
        f"bad {rec['bad_responses']}, cpu {cpu}; {load}")
    return rec


def prepare(setup, mode, n=None, out=None):
    cmd = ["python3", str(ROOT / "bench" / "prepare.py"), mode, setup.base,
           str(setup.outbox)]
    if n:
        cmd += [str(n), str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit(f"prepare.py {mode} failed: {p.stdout}{p.stderr}")
    return p.stdout.strip()


def run_case(setup, tmp, case):
    if case == "session":
        token = prepare(setup, "token")
        auth = f"Authorization: Bearer {token}"
        run_wrk(setup, tmp, case, "warmup", WARMUP, "/v1/session", headers=[auth])
        return run_wrk(setup, tmp, case, "load", DURATION, "/v1/session", headers=[auth])
    if case == "refresh":
        bodies = pathlib.Path(tmp) / f"{setup.name}-refresh-bodies.txt"
        prepare(setup, "refresh", REFRESH_TOKENS, bodies)
        # one_shot.lua stops each thread once its bodies are answered; wrk
        # waits out -d, so -d is only the upper bound.
        return run_wrk(setup, tmp, case, "load", REFRESH_BOUND, "/v1/token/refresh",
                       lua=ROOT / "bench" / "one_shot.lua", method="POST",
                       script_args=[str(bodies), str(WRK_THREADS),
                                    "/v1/token/refresh", '"refresh_token"'])
    if case == "email_start":
        lua = ROOT / "bench" / "email_start.lua"
        run_wrk(setup, tmp, case, "warmup", WARMUP, "/v1/auth/email/start",
                lua=lua, method="POST", script_args=["10000"])
        return run_wrk(setup, tmp, case, "load", DURATION, "/v1/auth/email/start",
                       lua=lua, method="POST", script_args=["10000"])
    raise SystemExit(f"unknown case {case}")


# -- the table --------------------------------------------------------------------

def table(runs):
    cases = summarize(runs)
    lines = ["| set-up | case | req/s | × sqlite1 | p50 ms | p99 ms | CPU ms / 1000 req: nodes | PostgreSQL | HAProxy | service total | wrk | load before (uptime) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case in CASES:
        load = cases.get(case, {}).get("load", {})
        base = load.get("sqlite1", {}).get("rps_mean")
        for name in SETUPS:
            s = load.get(name)
            if not s:
                continue
            r = next(x for x in runs if x["case"] == case and x["target"] == name)
            per = {k: v * 1e6 / r["requests"] for k, v in r["cpu_s"].items()}
            ratio = f"{s['rps_mean'] / base:.2f}" if base else "–"
            up = re.sub(r"^.*load average: ", "", r["loadavg_before"])
            lines.append(
                f"| {name} | {case} | {s['rps_mean']} | {ratio} | "
                f"{s['p50_us'] / 1000:.2f} | {s['p99_us'] / 1000:.2f} | "
                f"{per['nodes']:.0f} | {per['postgres']:.0f} | {per['haproxy']:.0f} | "
                f"{per['nodes'] + per['postgres'] + per['haproxy']:.0f} | "
                f"{per['wrk']:.0f} | {up} |")
    return "\n".join(lines)


def main():
    for tool in ("wrk", "uptime", BIN) + ((HAPROXY,) if "pg3" in SETUPS else ()):
        if not (os.path.exists(tool) or subprocess.run(
                ["sh", "-c", f"command -v {tool}"], capture_output=True).returncode == 0):
            raise SystemExit(f"{tool} is required")
    # A time-out or an interrupt still stops everything (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
    runs = []
    tmp = tempfile.mkdtemp(prefix="pa-scale-out-")
    pg = None
    try:
        if any(s.startswith("pg") for s in SETUPS):
            pg = DurablePgServer()
            pg.start()
        for name in SETUPS:
            log(f"set-up {name}")
            setup = Setup(name, tmp, pg)
            try:
                setup.idle_rate()
                for case in CASES:
                    runs.append(run_case(setup, tmp, case))
            finally:
                setup.stop()
    finally:
        for p in reversed(list(STARTED)):
            p.stop()
        if pg:
            pg.stop()
        if os.environ.get("KEEP_TMP"):
            log(f"kept {tmp} (logs of every process)")
        else:
            subprocess.run(["rm", "-rf", tmp])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "git": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
           "nproc": os.cpu_count(),
           "params": {"duration": DURATION, "warmup": WARMUP, "connections": CONNECTIONS,
                      "wrk_threads": WRK_THREADS, "refresh_tokens": REFRESH_TOKENS,
                      "refresh_bound": REFRESH_BOUND},
           "cases": summarize(runs), "runs": runs}
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    print(table(runs))
    print(f"\nwrk -t{WRK_THREADS} -c{CONNECTIONS}, {DURATION} a case (refresh: "
          f"{REFRESH_TOKENS} single-use tokens); {os.cpu_count()} cores shared by "
          f"wrk, the nodes, PostgreSQL and HAProxy; results: {RESULTS}")
    sockets = {f"{r['case']}/{r['target']}": {k: v for k, v in r["errors"].items()
                                               if k != "status" and v}
               for r in runs}
    sockets = {k: v for k, v in sockets.items() if v}
    if sockets:
        print(f"socket errors (wrk): {sockets}")
    # As bench/run.sh and summarize.py: a non-2xx answer or a body without
    # its expected field fails the run.
    failed = [f"{r['case']}/{r['target']}" for r in runs
              if r["errors"]["status"] or r.get("bad_responses")]
    if failed:
        print("FAILED: non-2xx or wrong bodies in " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
