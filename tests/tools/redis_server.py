#!/usr/bin/env python3
"""A throw-away Redis 7 server for the tests (issue 14: shared per-IP limits).

Like tests/tools/pg_server.py: no shared instance, nothing left behind.
`redis-server` (Debian's redis-server 7) runs in a fresh temporary folder,
listens on 127.0.0.1 only at a free random port, persists nothing, and is
stopped by its PID at the end. Tests may also kill it (SIGKILL), freeze it
(SIGSTOP/SIGCONT) or start it again on the same port.

    with RedisServer() as r:
        r.url                  # redis://127.0.0.1:PORT
        r.command("GET", "k")  # a small RESP client, for assertions
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = os.environ.get("PA_REDIS_SERVER", "/usr/bin/redis-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisError(Exception):
    """An error reply (-ERR ...)."""


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ConnectionError(f"unexpected reply {line!r}")


class RedisServer:
    """One redis-server in a temporary folder; a context manager."""

    def __init__(self, start_timeout=20.0):
        self.start_timeout = start_timeout
        self.dir = None
        self.port = None
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def command(self, *args, timeout=5.0):
        """Sends one command on a fresh connection; returns the reply."""
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout) as s:
            s.sendall(_encode(args))
            with s.makefile("rb") as f:
                return _read_reply(f)

    # -- lifecycle ----------------------------------------------------------
    def start(self):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="pa-redis-")
            self.port = free_port()
        log = open(os.path.join(self.dir, "server.log"), "a")
        # No persistence (save "", appendonly no): a restarted server starts
        # empty, as a real one that lost its memory would.
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: " + self.log())
            try:
                if self.command("PING", timeout=1) == "PONG":
                    return self
            except (OSError, ConnectionError, RedisError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start: " + self.log())
            time.sleep(0.05)

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL: the server vanishes without closing anything cleanly."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        """Stops the server by its PID and removes its folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test froze it
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
