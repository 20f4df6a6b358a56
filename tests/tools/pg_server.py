#!/usr/bin/env python3
"""A throw-away PostgreSQL 15 server for the tests (issue 14).

The tests start their own server, like they start their own SMTP server: no
shared instance, no state left behind. `initdb` runs in a fresh temporary
folder as an unprivileged system user (PostgreSQL refuses to run as root; as
root we create `pa-pg` once and switch to it with `runuser`), `postgres`
listens on 127.0.0.1 at a free random port with its socket in that folder,
and the server is stopped by its PID (SIGINT: fast shutdown) at the end.

Use from Python (pytest fixtures):

    with PgServer() as pg:
        pg.url   # postgresql://pa@127.0.0.1:PORT/auth

Use from anything else (the C++ store tests read PA_TEST_PG_URL):

    tests/tools/pg_server.py run -- build/unit_tests '[pg]'

starts a server, runs the command with PA_TEST_PG_URL set, stops the server
and exits with the command's status.
"""

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("PA_PG_BIN", "/usr/lib/postgresql/15/bin")
PG_USER = "pa-pg"  # the system user the server runs as when we are root
DB_ROLE = "pa"  # the database role the service connects as
DB_NAME = "auth"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_system_user():
    """The unprivileged user the server runs as (only needed as root)."""
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell",
             "/usr/sbin/nologin", PG_USER],
            check=True)
    return pwd.getpwnam(PG_USER)


class PgServer:
    """One PostgreSQL server in a temporary folder; a context manager."""

    def __init__(self, start_timeout=30.0):
        self.start_timeout = start_timeout
        self.dir = None
        self.port = None
        self.proc = None
        self.as_root = os.geteuid() == 0

    # -- commands, as the server's user -------------------------------------
    def _cmd(self, argv):
        if self.as_root:
            return ["runuser", "-u", PG_USER, "--"] + argv
        return argv

    def _run(self, argv, **kw):
        return subprocess.run(self._cmd(argv), check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, **kw)

    def psql(self, sql, db="postgres", user=None):
        """Runs SQL through psql over the unix socket; returns its output."""
        out = self._run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t",
                         "-v", "ON_ERROR_STOP=1",
                         "-h", self.dir, "-p", str(self.port),
                         "-U", user or self.superuser, "-d", db, "-c", sql])
        return out.stdout

    # -- lifecycle ----------------------------------------------------------
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="pa-pg-")
        os.chmod(self.dir, 0o700)
        if self.as_root:
            u = ensure_system_user()
            os.chown(self.dir, u.pw_uid, u.pw_gid)
            self.superuser = PG_USER
        else:
            self.superuser = pwd.getpwuid(os.geteuid()).pw_name
        data = os.path.join(self.dir, "data")
        self._run([os.path.join(PG_BIN, "initdb"), "-D", data, "-U",
                   self.superuser, "--auth=trust", "--encoding=UTF8",
                   "--locale=C", "--no-sync"])
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self._launch()
        self.psql(f"CREATE ROLE {DB_ROLE} LOGIN CREATEDB")
        self.psql(f"CREATE DATABASE {DB_NAME} OWNER {DB_ROLE}")
        return self

    def _settings(self):
        """The server settings (-c name=value) each launch passes."""
        # fsync off: a test server holds nothing worth the disk flushes.
        return {"fsync": "off", "synchronous_commit": "off",
                "full_page_writes": "off", "max_connections": 100}

    def _launch(self):
        """Starts postgres on the data folder and port, waits until it
        accepts connections."""
        data = os.path.join(self.dir, "data")
        log = open(self.log_path, "a")
        if self.as_root:
            os.chown(self.log_path, pwd.getpwnam(PG_USER).pw_uid, -1)
        settings = []
        for name, val in self._settings().items():
            settings += ["-c", f"{name}={val}"]
        self.proc = subprocess.Popen(
            self._cmd([os.path.join(PG_BIN, "postgres"), "-D", data,
                       "-p", str(self.port), "-h", "127.0.0.1",
                       "-k", self.dir] + settings),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.log())
            r = subprocess.run(
                [os.path.join(PG_BIN, "pg_isready"), "-h", "127.0.0.1", "-p",
                 str(self.port)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("postgres did not start: " + self.log())
            time.sleep(0.1)

    def pause(self):
        """Stops the server (fast shutdown, by its PID) and keeps its data
        folder and port, for drills of a database that goes away."""
        self._shutdown()

    def resume(self):
        """Starts the paused server again on the same data folder and port."""
        assert self.proc is None, "the server is running"
        self._launch()

    def _postmaster_pid(self):
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    @property
    def url(self):
        return f"postgresql://{DB_ROLE}@127.0.0.1:{self.port}/{DB_NAME}"

    def stop(self):
        """Stops the server by its PID and removes its folder."""
        self._shutdown()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _shutdown(self):
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT is the fast shutdown (sessions are ended, no waiting for
            # clients). It goes to postgres itself, by the PID in its
            # postmaster.pid: runuser does not forward SIGINT to its child.
            pid = self._postmaster_pid()
            try:
                os.kill(pid or self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if pid:
                    try:
                        os.kill(pid, signal.SIGQUIT)  # immediate shutdown
                    except ProcessLookupError:
                        pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class DurablePgServer(PgServer):
    """A PgServer configured as a production server would be, for the
    benchmark (bench/scale_out.sh): fsync and full_page_writes on, and
    `synchronous_commit` as given ("off" is the counterpart of the
    service's SQLite default, database.synchronous = "normal" in WAL mode:
    a commit is not flushed on its own, a crash loses at most the last
    moments, never consistency; "on" matches "full")."""

    def __init__(self, synchronous_commit="off", **kw):
        super().__init__(**kw)
        self.synchronous_commit = synchronous_commit

    def _settings(self):
        return {"fsync": "on", "synchronous_commit": self.synchronous_commit,
                "full_page_writes": "on", "max_connections": 100}

    def postmaster_pid(self):
        """The server's own PID (its backends are its children)."""
        return self._postmaster_pid()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a command with PA_TEST_PG_URL set")
    r.add_argument("argv", nargs=argparse.REMAINDER)
    args = p.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        p.error("run needs a command")
    with PgServer() as pg:
        env = dict(os.environ, PA_TEST_PG_URL=pg.url)
        rc = subprocess.run(argv, env=env).returncode
    sys.exit(rc)


if __name__ == "__main__":
    main()
