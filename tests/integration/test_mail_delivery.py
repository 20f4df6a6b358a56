"""Mail delivery end to end: the real service sends through a real SMTP relay
(tests/tools/smtp_sink.py, aiosmtpd) started by each test.

Covers: both MIME parts, subjects per language, the working link and code,
HTML escaping of user-controlled values, STARTTLS with a self-signed
certificate (ca_file and pinned public key), implicit TLS, AUTH, a relay that
is down and comes back, 4xx then 250, 5xx without retry, kill -9 with queued
jobs, non-ASCII headers, and a broken operator template folder.

Every wait is a poll with a deadline; retry delays and leases are made small
through the environment. "Nothing is sent again" is checked after the mailer
completed further scans of the queue (wait_scans), not after a fixed sleep.
"""
import email
import email.policy
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

import db_access
from conftest import (BINARY, MAIL_SCANS, SOURCE_DIR, metric, wait_scans,
                      wait_until)
from pa_flows import mail_link_and_code

SINK = SOURCE_DIR / "tests" / "tools" / "smtp_sink.py"
TEMPLATES = SOURCE_DIR / "templates" / "email"
PYTHON = "/usr/bin/python3"


# -- the relay ---------------------------------------------------------------

class Sink:
    """A running smtp_sink.py and the folder it writes messages to."""

    def __init__(self, tmp, port=0, args=(), name="sink"):
        self.maildir = pathlib.Path(tmp) / name
        self.control = pathlib.Path(tmp) / (name + ".control")
        cmd = [PYTHON, str(SINK), "--maildir", str(self.maildir),
               "--port", str(port), "--control-file", str(self.control),
               *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        self.port = None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("smtp sink died: " + self.proc.stderr.read())
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
            if line.strip() == "READY":
                break
        assert self.port, "smtp sink did not report its port"

    def fail_next(self, n, code, stage="data"):
        self.control.write_text(f"{n} {code} {stage}\n")

    def messages(self):
        """[(message, meta)] in arrival order."""
        if not self.maildir.exists():
            return []
        out = []
        files = sorted(self.maildir.glob("*.eml"), key=lambda p: int(p.stem))
        for f in files:
            raw = f.read_bytes()
            meta = json.loads(f.with_suffix(".json").read_text())
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            msg.raw = raw
            out.append((msg, meta))
        return out

    def wait_for(self, count=1, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages()
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} message(s), have {len(msgs)}")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def sinks(tmp_path):
    running = []

    def make(**kw):
        kw.setdefault("name", f"sink{len(running)}")
        s = Sink(tmp_path, **kw)
        running.append(s)
        return s

    yield make
    for s in running:
        s.stop()


def free_port():
    """A loopback port nobody listens on (for a relay that is 'down')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_env(port, security="none", **extra):
    env = {
        "PA_MAIL_TRANSPORT": "smtp",
        "PA_SMTP_HOST": "127.0.0.1",
        "PA_SMTP_PORT": str(port),
        "PA_SMTP_SECURITY": security,
        "PA_SMTP_CONNECT_TIMEOUT": "2",
        "PA_SMTP_TIMEOUT": "10",
        "PA_MAIL_FROM": "auth@example.test",
        "PA_MAIL_RETRY_FIRST_DELAY": "1",
        "PA_MAIL_RETRY_CAP": "1",
        "PA_MAIL_POLL_INTERVAL": "0.2",
    }
    env.update(extra)
    return env


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def jobs(server):
    with db(server) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(
            "SELECT * FROM mail_jobs ORDER BY created_at, id")]


def gen_cert(tmp):
    """A self-signed certificate for localhost / 127.0.0.1 made with the
    openssl CLI; returns (cert, key)."""
    cert, key = pathlib.Path(tmp) / "relay.crt", pathlib.Path(tmp) / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


def subject_for(lang, app_name):
    tpl = (TEMPLATES / "sign_in" / f"{lang}.subject.txt").read_text().strip()
    return tpl.replace("{{app_name}}", app_name)


def parts(msg):
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


# -- delivery and content ------------------------------------------------------

def test_sign_in_mail_arrives_with_both_parts_and_a_working_link(start_server, sinks):
    sink = sinks()
    s = start_server(env=smtp_env(sink.port, PA_MAIL_FROM_NAME="Acme Login"))
    ua = "<script>alert(1)</script>"
    r = s.client.post("/v1/auth/email/start", json={"email": "ann@example.com"},
                      headers={"User-Agent": ua})
    assert r.status == 202, r
    (msg, meta), = sink.wait_for(1)
    assert meta["rcpt_tos"] == ["ann@example.com"]
    assert meta["mail_from"] == "auth@example.test"
    assert msg.get_content_type() == "multipart/alternative"
    for h in ("Date", "Message-ID", "MIME-Version", "From", "To", "Subject"):
        assert msg[h], h
    assert str(msg["Subject"]) == subject_for("en", "Acme Login")
    assert msg["From"].addresses[0].addr_spec == "auth@example.test"
    assert msg["From"].addresses[0].display_name == "Acme Login"
    # The stable Message-ID is the job's.
    (job,) = jobs(s)
    assert str(msg["Message-ID"]).strip() == job["message_id"]
    assert job["status"] == "sent" or wait_until(
        lambda: jobs(s)[0]["status"] == "sent", what="job recorded as sent")
    # RFC 5322 line limit on the wire.
    assert max(len(l) for l in msg.raw.split(b"\r\n")) <= 998
    text, html = parts(msg)
    link, token, code = mail_link_and_code(msg)
    assert link in html and code in html
    # User-controlled values: escaped in HTML, verbatim in text.
    assert ua in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The link works.
    t = s.client.post("/v1/auth/email/link", json={"token": token})
    assert t.status == 200, t
    assert t.json()["user"]["email"] == "ann@example.com"
    assert metric(s, "emails_sent_total") >= 1
    assert metric(s, "email_send_duration_seconds_count") >= 1
    h = s.client.get("/health").json()
    assert h["mailer"]["transport"] == "smtp"
    assert h["mailer"]["last_success"] > 0


def test_language_from_request_user_and_accept_language(start_server, sinks):
    sink = sinks()
    s = start_server(env=smtp_env(sink.port, PA_MAIL_FROM_NAME="Acme"))
    c = s.client
    cases = [
        # (body locale, Accept-Language, expected template language)
        ("de", "fr", "de"),
        ("pt-br", None, "pt-BR"),
        (None, "fr-CH, fr;q=0.9, en;q=0.5", "fr"),
        (None, "ja", "ja"),
        (None, "xx-YY", "en"),
        ("klingon", "es-MX", "es"),
    ]
    for i, (loc, al, lang) in enumerate(cases):
        body = {"email": f"l{i}@example.com"}
        if loc:
            body["locale"] = loc
        headers = {"Accept-Language": al} if al else {}
        assert c.post("/v1/auth/email/start", json=body, headers=headers).status == 202
        msg, _ = sink.wait_for(i + 1)[i]
        assert str(msg["Subject"]) == subject_for(lang, "Acme"), (loc, al)
        assert msg["To"].addresses[0].addr_spec == f"l{i}@example.com"
        text, html = parts(msg)
        link, _, code = mail_link_and_code(msg)
        assert link in html and code in html
    # A stored user locale beats Accept-Language, the request's locale beats it.
    with db(s) as conn:
        conn.execute("INSERT INTO users(id, email, locale, created_at, updated_at) "
                     "VALUES ('u-es', 'stored@example.com', 'es', 0, 0)")
    n = len(cases)
    c.post("/v1/auth/email/start", json={"email": "stored@example.com"},
           headers={"Accept-Language": "de"})
    msg, _ = sink.wait_for(n + 1)[n]
    assert str(msg["Subject"]) == subject_for("es", "Acme")
    c.post("/v1/auth/email/start", json={"email": "stored@example.com", "locale": "ja"},
           headers={"Accept-Language": "de"})
    msg, _ = sink.wait_for(n + 2)[n + 1]
    assert str(msg["Subject"]) == subject_for("ja", "Acme")


def test_default_locale_applies_without_any_hint(start_server, sinks):
    sink = sinks()
    s = start_server(env=smtp_env(sink.port, PA_MAIL_FROM_NAME="Acme",
                                  PA_MAIL_DEFAULT_LOCALE="fr"))
    s.client.post("/v1/auth/email/start", json={"email": "d@example.com"})
    msg, _ = sink.wait_for(1)[0]
    assert str(msg["Subject"]) == subject_for("fr", "Acme")


def test_non_ascii_subject_and_names_decode(start_server, sinks):
    sink = sinks()
    name = "Ünïcødé 認証"
    s = start_server(env=smtp_env(sink.port, PA_MAIL_FROM_NAME=name))
    s.client.post("/v1/auth/email/start", json={"email": "u@example.com", "locale": "ja"})
    msg, _ = sink.wait_for(1)[0]
    # Headers on the wire are ASCII (RFC 2047 encoded words).
    head = msg.raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert b"=?" in head
    assert msg["From"].addresses[0].display_name == name
    assert msg["From"].addresses[0].addr_spec == "auth@example.test"
    assert str(msg["Subject"]) == subject_for("ja", name)
    assert not msg.defects and not msg["Subject"].defects
    text, html = parts(msg)
    assert name in text and name in html
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            assert part.get_content_charset() == "utf-8"
            assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")


# -- TLS and AUTH ----------------------------------------------------------------

def test_starttls_with_self_signed_certificate_and_ca_file(start_server, sinks, tmp_path):
    cert, key = gen_cert(tmp_path)
    sink = sinks(args=["--tls-cert", str(cert), "--tls-key", str(key), "--require-tls"])
    s = start_server(env=smtp_env(sink.port, "starttls", PA_SMTP_CA_FILE=str(cert)))
    s.client.post("/v1/auth/email/start", json={"email": "tls@example.com"})
    msg, meta = sink.wait_for(1)[0]
    assert meta["tls"] is True
    assert msg["To"].addresses[0].addr_spec == "tls@example.com"


def test_starttls_with_pinned_public_key(start_server, sinks, tmp_path):
    cert, key = gen_cert(tmp_path)
    pub = tmp_path / "relay.pub.pem"
    subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout",
                    "-out", str(pub)], check=True)
    sink = sinks(args=["--tls-cert", str(cert), "--tls-key", str(key), "--require-tls"])
    # A pinned key trusts the relay without a CA file.
    s = start_server(env=smtp_env(sink.port, "starttls",
                                  PA_SMTP_PINNED_PUBLIC_KEY=str(pub)))
    s.client.post("/v1/auth/email/start", json={"email": "pin@example.com"})
    _, meta = sink.wait_for(1)[0]
    assert meta["tls"] is True


def test_untrusted_relay_certificate_is_a_temporary_failure(start_server, sinks, tmp_path):
    cert, key = gen_cert(tmp_path)
    sink = sinks(args=["--tls-cert", str(cert), "--tls-key", str(key), "--require-tls"])
    s = start_server(env=smtp_env(sink.port, "starttls"))  # no ca_file, no pin
    s.client.post("/v1/auth/email/start", json={"email": "untrusted@example.com"})
    s.wait_event("mail-retry-scheduled", timeout=15)
    # The log line comes before the outcome is committed: poll the job.
    job = wait_until(lambda: [j for j in jobs(s) if j["last_error"]],
                     what="the failure recorded")[0]
    assert job["status"] in ("queued", "sending")
    assert sink.messages() == []


def test_implicit_tls(start_server, sinks, tmp_path):
    cert, key = gen_cert(tmp_path)
    sink = sinks(args=["--tls-cert", str(cert), "--tls-key", str(key), "--implicit-tls"])
    s = start_server(env=smtp_env(sink.port, "tls", PA_SMTP_CA_FILE=str(cert)))
    s.client.post("/v1/auth/email/start", json={"email": "smtps@example.com"})
    _, meta = sink.wait_for(1)[0]
    assert meta["tls"] is True


def test_auth_over_starttls(start_server, sinks, tmp_path):
    cert, key = gen_cert(tmp_path)
    sink = sinks(args=["--tls-cert", str(cert), "--tls-key", str(key), "--require-tls",
                       "--auth-user", "mailer", "--auth-password", "s3cret pass"])
    pw = tmp_path / "smtp-password"
    pw.write_text("s3cret pass\n")
    s = start_server(env=smtp_env(sink.port, "starttls", PA_SMTP_CA_FILE=str(cert),
                                  PA_SMTP_USERNAME="mailer",
                                  PA_SMTP_PASSWORD_FILE=str(pw)))
    s.client.post("/v1/auth/email/start", json={"email": "auth@example.com"})
    _, meta = sink.wait_for(1)[0]
    assert meta["auth_user"] == "mailer" and meta["tls"] is True
    # The password never shows in the logs.
    assert not any("s3cret" in line for line in s.lines)


def test_wrong_credentials_are_retried_not_dropped(start_server, sinks, tmp_path):
    cert, key = gen_cert(tmp_path)
    sink = sinks(args=["--tls-cert", str(cert), "--tls-key", str(key), "--require-tls",
                       "--auth-user", "mailer", "--auth-password", "right"])
    s = start_server(env=smtp_env(sink.port, "starttls", PA_SMTP_CA_FILE=str(cert),
                                  PA_SMTP_USERNAME="mailer", PA_SMTP_PASSWORD="wrong"))
    s.client.post("/v1/auth/email/start", json={"email": "badauth@example.com"})
    s.wait_event("mail-retry-scheduled", timeout=15)
    job = wait_until(lambda: [j for j in jobs(s) if j["last_error"]],
                     what="the failure recorded")[0]
    assert job["status"] != "failed" and "535" in job["last_error"]
    assert sink.messages() == []


# -- failures and retries ----------------------------------------------------------

def test_relay_down_then_up_delivers_exactly_once(start_server, sinks):
    port = free_port()
    s = start_server(env=smtp_env(port))
    s.client.post("/v1/auth/email/start", json={"email": "down@example.com"})
    s.wait_event("mail-retry-scheduled", timeout=15)
    wait_until(lambda: jobs(s)[0]["attempts"] >= 2, what="a second failed attempt")
    # The relay being down does not make the service unready.
    assert s.client.get("/readiness").status == 200
    h = s.client.get("/health").json()
    assert h["mailer"]["queue_depth"] >= 1
    assert metric(s, "emails_failed_total", 'reason="temporary"') >= 1
    sink = sinks(port=port)
    (msg, _), = sink.wait_for(1)
    assert msg["To"].addresses[0].addr_spec == "down@example.com"
    wait_until(lambda: jobs(s)[0]["status"] == "sent", what="job sent")
    wait_scans(s, MAIL_SCANS)  # the queue was looked at again: nothing is sent twice
    assert len(sink.messages()) == 1
    job = jobs(s)[0]
    assert job["attempts"] >= 2 and job["last_error"] is None
    assert str(msg["Message-ID"]).strip() == job["message_id"]
    wait_until(lambda: s.client.get("/health").json()["mailer"]["queue_depth"] == 0,
               what="queue drained in /health")


def test_4xx_then_250_delivers_once_after_two_attempts(start_server, sinks):
    sink = sinks(args=["--fail-next", "1", "--fail-code", "451"])
    s = start_server(env=smtp_env(sink.port))
    s.client.post("/v1/auth/email/start", json={"email": "greylist@example.com"})
    sink.wait_for(1)
    wait_until(lambda: jobs(s)[0]["status"] == "sent", what="job sent")
    wait_scans(s, MAIL_SCANS)
    assert len(sink.messages()) == 1
    job = jobs(s)[0]
    assert job["attempts"] == 2
    ev = s.events("mail-retry-scheduled")
    assert len(ev) == 1 and ev[0]["smtp_code"] == 451
    assert metric(s, "emails_failed_total", 'reason="temporary"') == 1
    assert metric(s, "emails_sent_total") == 1


@pytest.mark.parametrize("stage,code", [("data", 554), ("rcpt", 550)])
def test_5xx_fails_at_once_without_retry(start_server, sinks, stage, code):
    sink = sinks(args=["--fail-next", "1", "--fail-code", str(code),
                       "--fail-stage", stage])
    s = start_server(env=smtp_env(sink.port))
    before = metric(s, "emails_failed_total", 'reason="permanent"')
    s.client.post("/v1/auth/email/start", json={"email": "nobody@example.com"})
    job = wait_until(lambda: [j for j in jobs(s) if j["status"] == "failed"],
                     what="job failed")[0]
    assert job["attempts"] == 1
    assert str(code) in job["last_error"]
    assert job["lease_until"] is None
    wait_until(lambda: metric(s, "emails_failed_total", 'reason="permanent"') == before + 1,
               what="emails_failed_total{reason=permanent}")
    # Later scans claim nothing: a failed job is never due again, and no
    # retry was scheduled (the log line comes before the scan completes).
    wait_scans(s, MAIL_SCANS)
    assert jobs(s)[0]["attempts"] == 1 and jobs(s)[0]["status"] == "failed"
    assert sink.messages() == []
    assert s.events("mail-retry-scheduled") == []
    # The relay works for the next message.
    s.client.post("/v1/auth/email/start", json={"email": "next@example.com"})
    (msg, _), = sink.wait_for(1)
    assert msg["To"].addresses[0].addr_spec == "next@example.com"


def test_deadline_turns_a_temporary_failure_permanent(start_server):
    s = start_server(env=smtp_env(free_port(), PA_MAIL_RETRY_DEADLINE="60"))
    s.client.post("/v1/auth/email/start", json={"email": "old@example.com"})
    s.wait_event("mail-retry-scheduled", timeout=15)
    with db(s) as conn:  # as if queued long ago
        conn.execute("UPDATE mail_jobs SET created_at = created_at - 120")
    job = wait_until(lambda: [j for j in jobs(s) if j["status"] == "failed"],
                     what="job failed at the deadline")[0]
    assert job["last_error"]
    assert metric(s, "emails_failed_total", 'reason="deadline"') == 1


def test_kill_9_with_queued_jobs_then_restart_delivers_all_once(start_server, sinks, tmp_path):
    port = free_port()
    workdir = tmp_path / "srv-crash"
    env = smtp_env(port, PA_MAIL_LEASE_TIMEOUT="2")
    s = start_server(workdir=workdir, env=env)
    addrs = [f"crash{i}@example.com" for i in range(5)]
    for a in addrs:
        assert s.client.post("/v1/auth/email/start", json={"email": a}).status == 202
    wait_until(lambda: len(jobs(s)) == 5 and all(j["attempts"] >= 1 for j in jobs(s)),
               what="every job tried once")
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(timeout=10)
    with db(s) as conn:
        states = conn.execute("SELECT status, COUNT(*) FROM mail_jobs GROUP BY status").fetchall()
        assert dict(states).get("sent", 0) == 0, states
        # One job as a crash in the middle of a send leaves it: claimed, with
        # a lease that has not run out yet.
        conn.execute("UPDATE mail_jobs SET status = 'sending', "
                     "lease_until = strftime('%s','now') + 2 WHERE to_email = ?",
                     (addrs[0],))
    sink = sinks(port=port)
    s2 = start_server(workdir=workdir, env=env)
    msgs = sink.wait_for(5, timeout=20)
    wait_until(lambda: all(j["status"] == "sent" for j in jobs(s2)), what="all sent")
    wait_scans(s2, MAIL_SCANS)
    msgs = sink.messages()
    got = sorted(m["To"].addresses[0].addr_spec for m, _ in msgs)
    assert got == sorted(addrs)
    ids = [str(m["Message-ID"]).strip() for m, _ in msgs]
    assert sorted(ids) == sorted(j["message_id"] for j in jobs(s2))


# -- templates -------------------------------------------------------------------

def run_to_exit(tmp_path, env, timeout=20):
    full = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    full.update({
        "PA_DATABASE_PATH": str(tmp_path / "auth.db"),
        "PA_AUTH_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "PA_SERVER_PORT": "0",
    })
    full.update(env)
    try:
        p = subprocess.run([BINARY], cwd=tmp_path, env=full, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("service kept running with broken templates") from e
    return p.returncode, p.stdout + p.stderr


def test_broken_operator_template_stops_the_start(tmp_path):
    tpl = tmp_path / "email"
    shutil.copytree(TEMPLATES, tpl)
    broken = tpl / "sign_in" / "de.html"
    broken.write_text(broken.read_text().replace("{{/device}}", "", 1))
    rc, out = run_to_exit(tmp_path, {"PA_MAIL_TEMPLATES_DIR": str(tpl)})
    assert rc == 2, out
    assert "sign_in/de.html" in out, out


def test_missing_operator_template_stops_the_start(tmp_path):
    tpl = tmp_path / "email"
    shutil.copytree(TEMPLATES, tpl)
    (tpl / "passkey_added" / "fr.subject.txt").unlink()
    rc, out = run_to_exit(tmp_path, {"PA_MAIL_TEMPLATES_DIR": str(tpl)})
    assert rc == 2, out
    assert "passkey_added/fr.subject.txt" in out, out
    rc, out = run_to_exit(tmp_path, {"PA_MAIL_TEMPLATES_DIR": str(tmp_path / "nope")})
    assert rc == 2 and "nope" in out, out


def test_operator_templates_are_used(start_server, sinks, tmp_path):
    tpl = tmp_path / "email"
    shutil.copytree(TEMPLATES, tpl)
    (tpl / "sign_in" / "en.subject.txt").write_text("Custom {{app_name}} sign-in\n")
    sink = sinks()
    s = start_server(env=smtp_env(sink.port, PA_MAIL_FROM_NAME="Acme",
                                  PA_MAIL_TEMPLATES_DIR=str(tpl)))
    s.client.post("/v1/auth/email/start", json={"email": "op@example.com"})
    msg, _ = sink.wait_for(1)[0]
    assert str(msg["Subject"]) == "Custom Acme sign-in"


# -- a relay that hangs --------------------------------------------------------------

class SilentRelay:
    """Accepts TCP connections and never says a word (a stuck relay)."""

    def __init__(self):
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Event()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        self._stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


def test_a_hanging_relay_blocks_neither_the_api_nor_health(start_server):
    relay = SilentRelay()
    try:
        s = start_server(env=smtp_env(relay.port, PA_SMTP_CONNECT_TIMEOUT="6",
                                      PA_SMTP_TIMEOUT="6"))
        s.client.post("/v1/auth/email/start", json={"email": "slow@example.com"})
        # Connected: the worker is inside a send that will time out.
        assert relay.accepted.wait(10), "the mailer never connected"
        t0 = time.monotonic()
        h = s.client.get("/health")
        assert h.status in (200, 503), h
        assert time.monotonic() - t0 < 2.5
        m = h.json()["mailer"]
        assert m["transport"] == "smtp"
        assert s.client.get("/readiness").status == 200
        r = s.client.post("/v1/auth/email/start", json={"email": "other@example.com"})
        assert r.status == 202
        assert time.monotonic() - t0 < 3
        # The stuck send times out and is scheduled again, not dropped.
        ev = s.wait_event("mail-retry-scheduled", timeout=15)
        assert "timeout" in ev["error"].lower() or "timed out" in ev["error"].lower(), ev
        assert all(j["status"] != "failed" for j in jobs(s))
    finally:
        relay.close()


def test_sigterm_during_a_send_records_it_and_the_restart_sends_nothing_again(
        start_server, sinks, tmp_path):
    # The relay takes its time to answer 250: the service is stopped while it
    # waits. It must record the delivery before it exits, so the restart (with
    # a short lease) does not send the message a second time.
    sink = sinks(args=["--delay-data", "2"])
    workdir = tmp_path / "srv-term"
    env = smtp_env(sink.port, PA_MAIL_LEASE_TIMEOUT="1")
    s = start_server(workdir=workdir, env=env)
    s.client.post("/v1/auth/email/start", json={"email": "term@example.com"})
    sink.wait_for(1)  # saved by the relay, the 250 not yet sent
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0
    (job,) = jobs(s)
    assert job["status"] == "sent" and job["attempts"] == 1, job
    s2 = start_server(workdir=workdir, env=env)
    # The lease (1 s from the claim) ran out while the relay held its 250
    # for 2 s, so every scan of s2 is past it: nothing is picked up again.
    wait_scans(s2, MAIL_SCANS)
    assert len(sink.messages()) == 1
    assert jobs(s2)[0]["status"] == "sent"


def test_sigterm_hands_claimed_jobs_back(start_server, sinks, tmp_path):
    # Several jobs claimed in one batch, the first one in a slow send: a stop
    # returns the others to the queue unchanged and a restart sends each once.
    sink = sinks(args=["--delay-data", "1.5"])
    workdir = tmp_path / "srv-batch"
    env = smtp_env(sink.port, PA_MAIL_LEASE_TIMEOUT="600")
    s = start_server(workdir=workdir, env=env)
    addrs = [f"batch{i}@example.com" for i in range(4)]
    for a in addrs:
        s.client.post("/v1/auth/email/start", json={"email": a})
    sink.wait_for(1)
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0
    states = {j["to_email"]: (j["status"], j["attempts"]) for j in jobs(s)}
    assert all(st in ("sent", "queued") for st, _ in states.values()), states
    assert all(n == 1 for st, n in states.values() if st == "sent"), states
    s2 = start_server(workdir=workdir, env=env)
    sink.wait_for(4, timeout=20)
    wait_until(lambda: all(j["status"] == "sent" for j in jobs(s2)), what="all sent")
    wait_scans(s2, MAIL_SCANS)
    got = sorted(m["To"].addresses[0].addr_spec for m, _ in sink.messages())
    assert got == sorted(addrs)
