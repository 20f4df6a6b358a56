"""Work done once across nodes (issue 14): two service processes on one
throw-away PostgreSQL 15 (tests/tools/pg_server.py) share the mail queue and
the webhook outbox. Real parts: the SMTP sink (tests/tools/smtp_sink.py), a
real HTTP receiver, a relay that accepts connections and never answers (to
hold a node in the middle of its sends), kill -9. Plus, on SQLite, webhook
deliveries derived from audit rows committed before a crash."""
import json
import os
import pathlib
import signal
import socket
import sqlite3
import sys
import threading
import time

import pytest

from conftest import MAIL_SCANS, WEBHOOK_SCANS, wait_scans, wait_until
from test_mail_delivery import Sink, smtp_env
from test_webhooks import ADMIN, WEBHOOK_ENV, Receiver, create_endpoint

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
from pg_server import PgServer  # noqa: E402


@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        yield server


_db_count = [0]


def fresh_database(pg):
    """A new empty database owned by the service's role; (name, URL)."""
    _db_count[0] += 1
    name = f"wc_{os.getpid()}_{_db_count[0]}"
    pg.psql(f"CREATE DATABASE {name} OWNER pa")
    return name, pg.url.rsplit("/", 1)[0] + "/" + name


def rows(pg, name, sql):
    """psql's unaligned output as lists of fields."""
    out = pg.psql(sql, db=name).strip()
    return [line.split("|") for line in out.splitlines()] if out else []


class SilentRelay:
    """Accepts SMTP connections and never sends the greeting: a node whose
    relay this is stays in the middle of its sends, holding its leases."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def stop(self):
        self.closed = True
        self.sock.close()
        for c in self.conns:
            c.close()


def start_email(server, addr):
    r = server.client.post("/v1/auth/email/start", json={"email": addr})
    assert r.status == 202, r


def message_ids(sink):
    return [str(m["Message-ID"]).strip() for m, _ in sink.messages()]


def test_n_email_starts_on_two_nodes_send_exactly_n_mails(pg, start_server, tmp_path):
    name, url = fresh_database(pg)
    sink = Sink(tmp_path)
    try:
        env = smtp_env(sink.port, PA_DATABASE_URL=url)
        a = start_server(env=env)
        b = start_server(env=env)
        addrs = [f"once{i}@example.com" for i in range(24)]
        for i, addr in enumerate(addrs):
            start_email(a if i % 2 == 0 else b, addr)
        sink.wait_for(len(addrs), timeout=60)
        # Both mailers scan the shared queue a few more times: nothing is
        # sent again.
        wait_scans(a, MAIL_SCANS)
        wait_scans(b, MAIL_SCANS)
        ids = message_ids(sink)
        assert len(ids) == len(set(ids)) == len(addrs)
        got = sorted(m["To"].addresses[0].addr_spec for m, _ in sink.messages())
        assert got == sorted(addrs)
        jobs = rows(pg, name, "SELECT message_id, status, attempts FROM mail_jobs")
        assert sorted(j[0] for j in jobs) == sorted(ids)
        assert {(j[1], j[2]) for j in jobs} == {("sent", "1")}
    finally:
        sink.stop()


def test_a_node_killed_holding_leases_leaves_its_mails_to_the_other(pg, start_server, tmp_path):
    name, url = fresh_database(pg)
    silent = SilentRelay()
    sink = Sink(tmp_path)
    try:
        # Node A's relay never answers: A claims every job and is stuck in
        # the middle of each send (one worker per job).
        a = start_server(env=smtp_env(
            silent.port, PA_DATABASE_URL=url, PA_MAIL_WORKERS="5",
            PA_MAIL_LEASE_TIMEOUT="3", PA_SMTP_CONNECT_TIMEOUT="60",
            PA_SMTP_TIMEOUT="60", PA_MAIL_SEND_DEADLINE="600"))
        addrs = [f"killed{i}@example.com" for i in range(5)]
        for addr in addrs:
            start_email(a, addr)

        def leased_by_one_owner():
            js = rows(pg, name, "SELECT status, COALESCE(lease_owner, '') FROM mail_jobs")
            return (len(js) == len(addrs) and all(s == "sending" for s, _ in js)
                    and len({o for _, o in js}) == 1 and js[0][1])

        wait_until(leased_by_one_owner, timeout=30, what="every job leased by node A")
        wait_until(lambda: len(silent.conns) == len(addrs),
                   what="node A's sends under way")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        owner_a = rows(pg, name, "SELECT DISTINCT lease_owner FROM mail_jobs")[0][0]
        # Each job's own lease: A claimed them as the starts came, so their
        # leases may end in different seconds.
        lease_end = {m: int(t) for m, t in rows(
            pg, name, "SELECT message_id, lease_until FROM mail_jobs")}
        assert not sink.messages()

        b = start_server(env=smtp_env(sink.port, PA_DATABASE_URL=url,
                                      PA_MAIL_LEASE_TIMEOUT="3"))
        sink.wait_for(len(addrs), timeout=60)
        wait_scans(b, MAIL_SCANS)
        ids = message_ids(sink)
        assert len(ids) == len(set(ids)) == len(addrs)
        got = sorted(m["To"].addresses[0].addr_spec for m, _ in sink.messages())
        assert got == sorted(addrs)
        jobs = rows(pg, name, "SELECT message_id, status, lease_owner, sent_at FROM mail_jobs")
        assert sorted(j[0] for j in jobs) == sorted(ids)
        for message_id, status, owner, sent_at in jobs:
            assert status == "sent"
            assert owner != owner_a
            # Taken over only once A's lease on it had run out.
            assert int(sent_at) > lease_end[message_id]
    finally:
        silent.stop()
        sink.stop()


def test_webhook_events_of_two_nodes_are_delivered_once(pg, start_server):
    name, url = fresh_database(pg)
    rx = Receiver()
    try:
        env = dict(WEBHOOK_ENV, PA_DATABASE_URL=url)
        a = start_server(env=env)
        b = start_server(env=env)
        create_endpoint(a.client, rx.port, types=("email.sign_in_requested",))
        # Node B sees the endpoint A's admin API created at its next tick.
        wait_scans(b, WEBHOOK_SCANS)
        wait_scans(b, WEBHOOK_SCANS)
        n = 12
        for i in range(n):
            start_email(a if i % 2 == 0 else b, f"hook{i}@example.com")
        rx.wait(lambda r: len(r) >= n, timeout=60)
        wait_scans(a, WEBHOOK_SCANS)
        wait_scans(b, WEBHOOK_SCANS)
        reqs = list(rx.requests)
        ids = [h["webhook-id"] for h, _, _ in reqs]
        assert len(ids) == len(set(ids)) == n
        bodies = [json.loads(body) for _, body, _ in reqs]
        assert {x["type"] for x in bodies} == {"email.sign_in_requested"}
        request_ids = {x["data"]["request_id"] for x in bodies}
        assert len(request_ids) == n
        stored = rows(pg, name, "SELECT request_id FROM audit_logs "
                                "WHERE event_type = 'email.sign_in_requested'")
        assert {r[0] for r in stored} == request_ids
        assert rows(pg, name, "SELECT status, COUNT(*) FROM webhook_deliveries "
                              "GROUP BY status") == [["succeeded", str(n)]]
    finally:
        rx.stop()


def test_audit_rows_committed_before_a_crash_still_become_deliveries(start_server, tmp_path):
    # The state a crash leaves between an event's audit row committing and
    # its delivery being queued: the rows are there, no delivery yet. The
    # next start derives them from the table (past the persisted cursor).
    work = tmp_path / "crash"
    rx = Receiver()
    try:
        s = start_server(workdir=work, env=WEBHOOK_ENV)
        create_endpoint(s.client, rx.port, types=("user.created",))
        assert s.stop() == 0
        with sqlite3.connect(work / "auth.db", isolation_level=None) as conn:
            for i in range(3):
                conn.execute(
                    "INSERT INTO audit_logs(event_type, created_at, user_id, "
                    "success, metadata) VALUES ('user.created', ?, ?, 1, '{}')",
                    (int(time.time()), f"crash-user-{i}"))
        s2 = start_server(workdir=work, env=WEBHOOK_ENV)
        reqs = rx.wait(lambda r: len(r) >= 3, timeout=30)
        wait_scans(s2, WEBHOOK_SCANS)
        users = sorted(json.loads(b)["data"]["user_id"] for _, b, _ in rx.requests)
        assert users == [f"crash-user-{i}" for i in range(3)]
        assert len({h["webhook-id"] for h, _, _ in reqs}) == 3
    finally:
        rx.stop()


def test_the_send_cap_holds_for_concurrent_starts_on_two_nodes(pg, start_server):
    name, url = fresh_database(pg)
    env = {"PA_DATABASE_URL": url, "PA_AUTH_EMAIL_HOURLY_CAP": "3",
           "PA_AUTH_EMAIL_MIN_INTERVAL": "0"}
    a = start_server(env=env)
    b = start_server(env=env)
    answers = []

    def fire(node):
        r = node.client.post("/v1/auth/email/start",
                             json={"email": "capped@example.com"})
        answers.append(r.status)

    threads = [threading.Thread(target=fire, args=(a if i % 2 == 0 else b,))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # Every start is answered alike; no more mails than the cap, whichever
    # node wrote them, however they interleaved.
    assert answers == [202] * 16
    mailed = int(rows(pg, name, "SELECT COUNT(*) FROM email_flows WHERE mailed = 1")[0][0])
    flows = int(rows(pg, name, "SELECT COUNT(*) FROM email_flows")[0][0])
    jobs = int(rows(pg, name, "SELECT COUNT(*) FROM mail_jobs")[0][0])
    assert 1 <= mailed <= 3
    assert jobs == mailed
    assert flows == 16
