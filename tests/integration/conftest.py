"""Fixtures that run the real passwordless-auth binary on loopback.

Every test gets its own temporary data folder (SQLite file, outbox) and a
server started on port 0; the bound port is read from the JSON log line
`http-listening`. Nothing is mocked: requests travel over real TCP.
"""
import json
import os
import pathlib
import queue
import re
import signal
import subprocess
import threading
import time

import pytest

import db_access
from pa_client import Client

BINARY = os.environ.get("PA_BINARY") or str(
    pathlib.Path(__file__).resolve().parents[2] / "build" / "passwordless-auth")
SOURCE_DIR = pathlib.Path(os.environ.get(
    "PA_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


def wait_until(pred, timeout=15, what="condition", interval=0.05):
    """Polls `pred` until it returns something truthy and returns that;
    fails after `timeout` seconds, naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def metric(server, name, labels=""):
    """The sum of metric `name` in /metrics over the series whose labels
    contain `labels` (0 when there is none)."""
    text = server.client.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:]+)(\{[^}]*\})?\s+(\S+)$", line)
        if m and m.group(1) == name and labels in (m.group(2) or ""):
            total += float(m.group(3))
    return total


# Completed scans of the mail queue and of the webhook outbox.
MAIL_SCANS = "email_queue_polls_total"
WEBHOOK_SCANS = "webhook_polls_total"


def wait_scans(server, counter, n=2, timeout=15):
    """Waits until `counter` (MAIL_SCANS or WEBHOOK_SCANS) has advanced by
    `n` past its value now.

    Scans never overlap and each one counts when it is complete (its claim
    and every send it led to), so with n >= 2 at least one whole scan began
    after this call. A negative check made afterwards ("nothing was sent
    again") has then really been given the chance to fail.
    """
    assert n >= 2
    start = metric(server, counter)
    wait_until(lambda: metric(server, counter) >= start + n, timeout,
               f"{n} more {counter}")


class Server:
    """A running service process with its log lines collected."""

    def __init__(self, workdir, env=None, args=None, config_text=None,
                 wait_ready=True):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.lines = []
        self._events = queue.Queue()
        cmd = [BINARY]
        if config_text is not None:
            cfg = self.workdir / "config.toml"
            cfg.write_text(config_text)
            cmd += ["--config", str(cfg)]
        cmd += ["--set", "server.port=0"]
        cmd += args or []
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PA_")}
        full_env.update({
            "PA_DATABASE_PATH": str(self.workdir / "auth.db"),
            "PA_MAIL_OUTBOX_DIR": str(self.workdir / "outbox"),
            "PA_AUTH_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
            "PA_LOG_LEVEL": "debug",
            # Most tests sign the same address in several times; the send
            # caps have their own test with the real defaults.
            "PA_AUTH_EMAIL_MIN_INTERVAL": "0",
            "PA_AUTH_EMAIL_HOURLY_CAP": "1000",
            "PA_MAIL_POLL_INTERVAL": "0.2",
            # Likewise for the rate limits (tests run from one address);
            # test_defences.py sets its own policies.
            "PA_RATE_LIMIT_POLICIES": "email_send_per_address=1000/3600,"
                                      "email_send_per_ip=1000/3600,"
                                      "verify_per_ip=1000/300,"
                                      "totp_per_ip=1000/300,"
                                      "webauthn_per_ip=1000/300,"
                                      "refresh_per_ip=1000/300",
        })
        full_env.update(env or {})
        # PA_TEST_BACKEND=postgres: the same service on a PostgreSQL
        # database of its own, named by the SQLite path it would have used
        # (db_access.py), unless the test chose a URL itself.
        if db_access.on_postgres() and "PA_DATABASE_URL" not in full_env:
            full_env["PA_DATABASE_URL"] = db_access.database_url(
                full_env["PA_DATABASE_PATH"])
        self.env = full_env
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ev = self.wait_event("http-listening", timeout=20)
        self.port = ev["port"]
        self.base = f"http://127.0.0.1:{self.port}"
        self.client = Client(self.base)
        if wait_ready:
            self.wait_ready()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            try:
                self._events.put(json.loads(line))
            except ValueError:
                self._events.put({"raw": line})
        self._events.put(None)

    def wait_event(self, name, timeout=10, pred=None):
        """Blocks until a log event with this id (and predicate) appears."""
        deadline = time.monotonic() + timeout
        for line in list(self.lines):
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == name and (pred is None or pred(ev)):
                return ev
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {name} event; log:\n" + "\n".join(self.lines[-40:]))
            try:
                ev = self._events.get(timeout=left)
            except queue.Empty:
                continue
            if ev is None:
                raise AssertionError(
                    f"process exited before {name}; log:\n"
                    + "\n".join(self.lines[-40:]))
            if ev.get("event") == name and (pred is None or pred(ev)):
                return ev

    def events(self, name):
        out = []
        for line in self.lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == name:
                out.append(ev)
        return out

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client.get("/readiness").status == 200:
                return
            time.sleep(0.02)
        raise AssertionError("service never became ready")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("service did not stop in time")
        self._reader.join(timeout=5)
        return self.proc.returncode


@pytest.fixture(scope="session", autouse=True)
def postgres_backend():
    """Stops the session's PostgreSQL server (PA_TEST_BACKEND=postgres;
    started by db_access on first use) when the session ends."""
    yield
    db_access.stop()


def skip_on_postgres(reason):
    """Marks a test that means something on SQLite only (docs/scale-out.md
    lists them)."""
    return pytest.mark.skipif(db_access.on_postgres(),
                              reason="SQLite only: " + reason)


@pytest.fixture
def start_server(tmp_path):
    servers = []

    def start(**kw):
        kw.setdefault("workdir", tmp_path / f"srv{len(servers)}")
        s = Server(**kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        try:
            s.stop(sig=signal.SIGKILL if s.proc.poll() is None and False
                   else signal.SIGTERM)
        except AssertionError:
            pass


@pytest.fixture
def server(start_server):
    return start_server()
