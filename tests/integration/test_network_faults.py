"""Network fault drills (issue 15): relays and receivers that misbehave on
loopback, each drill bounded by the service's own timeouts.

Already covered elsewhere, not repeated here: a relay that is down then up,
4xx then 250, 5xx at once, a relay that accepts and never greets
(test_a_hanging_relay_blocks_neither_the_api_nor_health), an untrusted
STARTTLS certificate (test_untrusted_relay_certificate_is_a_temporary_failure)
in test_mail_delivery.py; a webhook receiver that answers 500 or hangs once
in test_webhooks.py.

Here: a relay that takes the whole message and never answers it, one that
resets the connection in the middle of DATA, one that answers 4xx and then
5xx; a webhook receiver that hangs for good, one that redirects, one that
answers one byte at a time. In each, no send outlives its timeout, the queue
keeps draining for the other recipients, and metrics and /health show it.
"""
import asyncio
import socket
import sqlite3
import struct
import threading
import time

import pytest

import db_access
from conftest import MAIL_SCANS, metric, wait_scans, wait_until
from pa_flows import sign_in

ADMIN = "admin-key-for-network-fault-tests-0123456789"
ADM = {"Authorization": "Bearer " + ADMIN}


# -- a scripted relay ------------------------------------------------------------

class ScriptedRelay:
    """A small SMTP server (asyncio, in a thread) whose behaviour depends on
    the recipient's local part and on how often it was seen:

    hang     takes DATA to the final "." and never answers it
    reset    resets the connection (RST) in the middle of DATA, the first time
    temp5xx  451 the first time, then 554
    anything else: 250, kept in `delivered`.
    """

    def __init__(self):
        self.delivered = []   # recipients, in order
        self.seen = {}        # recipient -> attempts
        self.hanging = 0      # connections held open now
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        assert started.wait(5)

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _session(self, reader, writer):
        rcpt = None
        try:
            writer.write(b"220 scripted ESMTP\r\n")
            while True:
                line = await reader.readline()
                if not line:
                    return
                cmd = line.decode(errors="replace").strip()
                up = cmd.upper()
                if up.startswith("EHLO") or up.startswith("HELO"):
                    writer.write(b"250-scripted\r\n250 8BITMIME\r\n")
                elif up.startswith("MAIL FROM"):
                    writer.write(b"250 ok\r\n")
                elif up.startswith("RCPT TO"):
                    rcpt = cmd.split("<", 1)[1].split(">", 1)[0]
                    writer.write(b"250 ok\r\n")
                elif up == "DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    n = self.seen[rcpt] = self.seen.get(rcpt, 0) + 1
                    local = rcpt.split("@")[0]
                    if local == "reset" and n == 1:
                        await reader.readline()  # part of the message
                        sock = writer.get_extra_info("socket")
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                        writer.transport.abort()
                        return
                    while (await reader.readline()) not in (b".\r\n", b""):
                        pass
                    if local == "hang":
                        self.hanging += 1
                        try:
                            await reader.read()  # until the client gives up
                        finally:
                            self.hanging -= 1
                        return
                    if local == "temp5xx":
                        writer.write(b"451 try later\r\n" if n == 1
                                     else b"554 rejected for good\r\n")
                    else:
                        self.delivered.append(rcpt)
                        writer.write(b"250 queued\r\n")
                elif up == "QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def stop(self):
        def shut():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(shut)


@pytest.fixture
def relay():
    r = ScriptedRelay()
    yield r
    r.stop()


def smtp_env(port, **extra):
    env = {"PA_MAIL_TRANSPORT": "smtp", "PA_SMTP_HOST": "127.0.0.1",
           "PA_SMTP_PORT": str(port), "PA_SMTP_SECURITY": "none",
           "PA_SMTP_CONNECT_TIMEOUT": "2", "PA_SMTP_TIMEOUT": "2",
           "PA_MAIL_FROM": "auth@example.test",
           "PA_MAIL_RETRY_FIRST_DELAY": "1", "PA_MAIL_RETRY_CAP": "1",
           "PA_MAIL_POLL_INTERVAL": "0.2"}
    env.update(extra)
    return env


def jobs(server):
    with db_access.connect(server.workdir / "auth.db") as conn:
        conn.row_factory = sqlite3.Row
        return {r["to_email"]: dict(r) for r in conn.execute("SELECT * FROM mail_jobs")}


def send(s, addr):
    assert s.client.post("/v1/auth/email/start", json={"email": addr}).status == 202


# -- SMTP drills -------------------------------------------------------------------

def test_a_relay_that_never_answers_the_message_times_out_and_others_still_go(
        start_server, relay):
    s = start_server(env=smtp_env(relay.port))
    send(s, "hang@example.com")
    wait_until(lambda: relay.hanging == 1, what="the relay holding a message")
    t0 = time.monotonic()
    for i in range(3):
        send(s, f"ok{i}@example.com")
    # /health answers at once while the worker is stuck in the send.
    r = s.client.get("/health")
    assert r.status in (200, 503) and time.monotonic() - t0 < 1.5, r
    # The stuck send ends at smtp.timeout (2 s); the queue drains for the
    # other recipients.
    wait_until(lambda: {f"ok{i}@example.com" for i in range(3)} <= set(relay.delivered),
               timeout=10, what="the other recipients delivered")
    assert time.monotonic() - t0 < 8
    ev = s.wait_event("mail-retry-scheduled",
                      pred=lambda e: "timeout" in e.get("error", "").lower()
                      or "timed out" in e.get("error", "").lower())
    hang = jobs(s)["hang@example.com"]
    assert hang["status"] != "sent" and hang["attempts"] >= 1, hang
    assert metric(s, "emails_failed_total", 'reason="temporary"') >= 1
    assert metric(s, "emails_sent_total") >= 3
    h = s.client.get("/health").json()
    assert h["mailer"]["last_failure"] > 0 and h["mailer"]["queue_depth"] >= 1, h
    assert h["checks"]["mailer"] == "ok"  # a retrying queue is not a backlog
    # The transport's own timeout ended the send: nothing was left stuck.
    assert h["mailer"]["stuck_sends"] == 0 and h["mailer"]["workers"] >= 2, h
    assert metric(s, "email_send_deadline_exceeded_total") == 0
    assert ev["smtp_code"] in (0, None) or ev["smtp_code"] < 500


def test_a_send_past_its_deadline_is_flagged_and_its_late_outcome_recorded(
        start_server, relay):
    # The watchdog behind the transport's timeouts: here the mailer's
    # deadline (1 s) is shorter than smtp.timeout (5 s), as when a transport
    # does not honour its own timeout (curl 7.88 did not, for the answer to
    # DATA). The send is flagged stuck in the log, the metrics and /health,
    # a new worker takes its place so the queue keeps draining, and when the
    # transport does end the send its outcome is still recorded.
    s = start_server(env=smtp_env(relay.port, PA_SMTP_TIMEOUT="5",
                                  PA_MAIL_SEND_DEADLINE="1",
                                  PA_MAIL_WORKERS="1",
                                  PA_MAIL_RETRY_FIRST_DELAY="30",
                                  PA_MAIL_RETRY_CAP="30"))
    send(s, "hang@example.com")
    wait_until(lambda: relay.hanging == 1, what="the relay holding a message")
    stuck = s.wait_event("mail-send-stuck", timeout=5)
    assert stuck["worker_replaced"] is True, stuck
    h = s.client.get("/health")
    assert h.status == 503, h
    body = h.json()
    assert body["checks"]["mailer"] == "stuck", body
    assert body["mailer"]["stuck_sends"] == 1 and body["mailer"]["workers"] == 2
    assert metric(s, "email_sends_stuck") == 1
    assert metric(s, "email_send_deadline_exceeded_total") == 1
    # With its only worker stuck, the replacement sends the others.
    for i in range(2):
        send(s, f"ok{i}@example.com")
    wait_until(lambda: {"ok0@example.com", "ok1@example.com"}
               <= set(relay.delivered), timeout=5, what="others delivered")
    # The transport ends the stuck send at smtp.timeout: recorded as a
    # temporary failure (scheduled again, not lost, not failed), and the
    # replaced worker is let go.
    s.wait_event("mail-send-unstuck", timeout=10)
    ev = s.wait_event("mail-retry-scheduled")
    assert "timeout" in ev["error"].lower(), ev
    # The mailer logs the retry when it sends the reschedule to the DB
    # actor, not when that write commits: wait for the row to leave
    # "sending" (on PostgreSQL, under load, the read could come first).
    hang = wait_until(
        lambda: (lambda j: j if j["status"] != "sending" else None)(
            jobs(s)["hang@example.com"]), what="the reschedule written")
    assert hang["status"] == "queued" and hang["attempts"] == 1, hang
    h = wait_until(lambda: (lambda r: r if r.status == 200 else None)(
        s.client.get("/health")), what="health ok again")
    assert h.json()["mailer"]["stuck_sends"] == 0
    assert h.json()["mailer"]["workers"] == 1
    assert metric(s, "email_sends_stuck") == 0


def test_a_reset_in_the_middle_of_data_is_retried_and_sent_once(start_server, relay):
    s = start_server(env=smtp_env(relay.port))
    send(s, "reset@example.com")
    wait_until(lambda: relay.delivered.count("reset@example.com") == 1,
               timeout=15, what="the message delivered on the second try")
    wait_until(lambda: jobs(s)["reset@example.com"]["status"] == "sent", what="job sent")
    wait_scans(s, MAIL_SCANS)
    assert relay.delivered.count("reset@example.com") == 1
    job = jobs(s)["reset@example.com"]
    assert job["attempts"] == 2 and relay.seen["reset@example.com"] == 2
    assert metric(s, "emails_failed_total", 'reason="temporary"') == 1
    assert len(s.events("mail-retry-scheduled")) == 1


def test_4xx_then_5xx_fails_for_good_after_two_attempts(start_server, relay):
    s = start_server(env=smtp_env(relay.port))
    send(s, "temp5xx@example.com")
    job = wait_until(lambda: jobs(s)["temp5xx@example.com"]["status"] == "failed"
                     and jobs(s)["temp5xx@example.com"], what="job failed")
    assert job["attempts"] == 2 and "554" in job["last_error"]
    wait_scans(s, MAIL_SCANS)
    assert relay.seen["temp5xx@example.com"] == 2  # never tried a third time
    assert metric(s, "emails_failed_total", 'reason="temporary"') == 1
    assert metric(s, "emails_failed_total", 'reason="permanent"') == 1
    send(s, "after@example.com")
    wait_until(lambda: "after@example.com" in relay.delivered, what="next mail sent")


# -- a scripted webhook receiver ----------------------------------------------------

class ScriptedReceiver:
    """HTTP receiver: /hang never answers, /redirect answers 302 to /target,
    /slow answers one byte every 0.3 s, /ok answers 200."""

    def __init__(self):
        self.hits = []  # paths, in order
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        assert started.wait(5)

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _session(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            self.hits.append(path)
            if path == "/hang":
                await reader.read()
                return
            if path == "/redirect":
                writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d"
                             b"/target\r\nContent-Length: 0\r\n\r\n" % self.port)
            elif path == "/slow":
                for b in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                    writer.write(bytes([b]))
                    await writer.drain()
                    await asyncio.sleep(0.3)
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def stop(self):
        def shut():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(shut)


WEBHOOK_ENV = {"PA_ADMIN_API_KEY": ADMIN, "PA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
               "PA_WEBHOOKS_RETRY_FIRST_DELAY": "1", "PA_WEBHOOKS_RETRY_CAP": "1",
               "PA_WEBHOOKS_POLL_INTERVAL": "0.2", "PA_WEBHOOKS_TIMEOUT": "1"}


def endpoint(s, port, path):
    r = s.client.post("/v1/admin/webhooks", headers=ADM,
                      json={"url": f"http://127.0.0.1:{port}{path}",
                            "event_types": ["session.created"]})
    assert r.status == 201, r
    return r.json()["id"]


def webhook_rows(s):
    with db_access.connect(s.workdir / "auth.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(
            "SELECT endpoint_id, status, attempts, last_error, last_status_code "
            "FROM webhook_deliveries")]


def new_session(s, addr):
    sign_in(s, addr)


def test_misbehaving_receivers_are_cut_at_the_timeout_and_the_good_one_drains(
        start_server):
    rx = ScriptedReceiver()
    try:
        s = start_server(env=WEBHOOK_ENV)
        bad = {p: endpoint(s, rx.port, p) for p in ("/hang", "/redirect", "/slow")}
        good = endpoint(s, rx.port, "/ok")
        t0 = time.monotonic()
        for i in range(3):
            new_session(s, f"hook{i}@example.com")
        # Each bad endpoint costs at most webhooks.timeout (1 s) per attempt:
        # the good endpoint gets its three events well within the bound.
        wait_until(lambda: rx.hits.count("/ok") >= 3, timeout=20,
                   what="the good endpoint's deliveries")
        assert time.monotonic() - t0 < 15
        assert "/target" not in rx.hits  # a redirect is never followed
        rows = webhook_rows(s)
        by_ep = {}
        for r in rows:
            by_ep.setdefault(r["endpoint_id"], []).append(r)
        assert all(r["status"] == "succeeded" for r in by_ep[good])
        wait_until(lambda: all(r["last_error"] or r["last_status_code"]
                               for ep in bad.values() for r in by_ep_of(s, ep)),
                   what="every bad delivery attempted")
        slow = by_ep_of(s, bad["/slow"])
        assert all(r["status"] != "succeeded" for r in slow), slow
        assert any("timeout" in (r["last_error"] or "").lower()
                   or "timed out" in (r["last_error"] or "").lower() for r in slow), slow
        redirect = by_ep_of(s, bad["/redirect"])
        assert all(r["status"] != "succeeded" for r in redirect), redirect
        hang = by_ep_of(s, bad["/hang"])
        assert all(r["status"] != "succeeded" for r in hang), hang
        assert metric(s, "webhook_deliveries_total", 'outcome="succeeded"') >= 3
        # Three bad endpoints, three events each, every attempt counted.
        assert metric(s, "webhook_deliveries_total", 'outcome="retried"') \
            + metric(s, "webhook_deliveries_total", 'outcome="failed"') >= 9
        assert s.client.get("/health").status == 200
    finally:
        rx.stop()


def by_ep_of(s, ep):
    return [r for r in webhook_rows(s) if r["endpoint_id"] == ep]
