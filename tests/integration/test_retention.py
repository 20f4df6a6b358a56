"""Retention of the mail queue and the webhook outbox, and what deleting an
account erases, over real HTTP and the real SQLite file.

Old rows are made by backdating real rows in the database file while the
service is stopped; the mailer and the webhook actor purge their own tables
when they start (and then on a timer), which the restart makes observable.
"""
import hashlib
import subprocess
import time

import pytest

import db_access
from conftest import BINARY, wait_until
from pa_flows import bearer, sign_in, wait_for_mail
from test_webhooks import ADM, ADMIN, WEBHOOK_ENV, Receiver, create_endpoint

DAY = 86400


def db(server_or_path):
    path = getattr(server_or_path, "workdir", None)
    path = path / "auth.db" if path is not None else server_or_path
    return db_access.connect(path, isolation_level=None)


def mail_rows(server, to=None):
    q = "SELECT id, to_email, template, status FROM mail_jobs"
    args = ()
    if to:
        q += " WHERE to_email = ?"
        args = (to,)
    return db(server).execute(q + " ORDER BY created_at, id", args).fetchall()


def test_finished_rows_are_purged_after_their_retention(start_server, tmp_path):
    rx = Receiver()
    work = tmp_path / "ret"
    s = start_server(workdir=work, env=WEBHOOK_ENV)
    ep = create_endpoint(s.client, rx.port)
    old_user = sign_in(s, "old@example.com")["user"]["id"]
    recent_user = sign_in(s, "recent@example.com")["user"]["id"]
    rx.wait(lambda r: len(r) == 2)
    wait_until(lambda: [r[0] for r in db(s).execute(
        "SELECT status FROM webhook_deliveries")] == ["succeeded"] * 2,
        what="both deliveries recorded")
    wait_until(lambda: [r[3] for r in mail_rows(s)] == ["sent"] * 2,
               what="both sign-in mails recorded as sent")
    assert s.stop() == 0

    now = int(time.time())
    old, recent = now - 31 * DAY, now - 29 * DAY
    with db(work / "auth.db") as conn:
        # Finished rows past the default retention (30 days) and within it.
        for email, t in (("old@example.com", old), ("recent@example.com", recent)):
            conn.execute("UPDATE mail_jobs SET created_at = ?, sent_at = ?, "
                         "next_attempt_at = ? WHERE to_email = ?", (t, t, t, email))
        for uid, t in ((old_user, old), (recent_user, recent)):
            conn.execute("UPDATE webhook_deliveries SET created_at = ?, delivered_at = ?, "
                         "next_attempt_at = ? WHERE payload LIKE ?", (t, t, t, f"%{uid}%"))
        # A mail that failed long ago, and one as old still waiting for a
        # retry: pending work is never purged, however old.
        for jid, status, due in (("job-failed", "failed", old),
                                 ("job-queued", "queued", now + 10 * DAY)):
            conn.execute(
                "INSERT INTO mail_jobs(id, message_id, to_email, template, locale, "
                "vars_enc, status, attempts, next_attempt_at, created_at) "
                "VALUES (?, ?, 'x@example.com', 'sign_in', 'en', x'00', ?, 3, ?, ?)",
                (jid, f"<{jid}@test>", status, due, old))
        for did, status, due in (("msg_failed", "failed", old),
                                 ("msg_pending", "pending", now + 10 * DAY)):
            conn.execute(
                "INSERT INTO webhook_deliveries(id, endpoint_id, event_type, payload, "
                "status, attempts, next_attempt_at, created_at) "
                "VALUES (?, ?, 'session.created', '{}', ?, 3, ?, ?)",
                (did, ep["id"], status, due, old))

    s2 = start_server(workdir=work, env=WEBHOOK_ENV)
    mail_ev = s2.wait_event("mail-jobs-purged")
    hook_ev = s2.wait_event("webhook-deliveries-purged")
    assert mail_ev["deleted"] == 2 and mail_ev["retention_days"] == 30
    assert hook_ev["deleted"] == 2 and hook_ev["retention_days"] == 30
    with db(s2) as conn:
        assert sorted(r[0] for r in conn.execute(
            "SELECT to_email || ':' || status FROM mail_jobs")) == [
            "recent@example.com:sent", "x@example.com:queued"]
        rows = conn.execute("SELECT id, status, payload FROM webhook_deliveries").fetchall()
        assert sorted(r[1] for r in rows) == ["pending", "succeeded"]
        assert any(recent_user in r[2] for r in rows)
        assert not any(old_user in r[2] for r in rows)
    rx.stop()


def test_retention_days_are_configuration(start_server, tmp_path):
    """A shorter retention purges rows the default would keep; a bad value
    stops the start naming the key."""
    work = tmp_path / "cfg"
    s = start_server(workdir=work)
    sign_in(s, "short@example.com")
    wait_until(lambda: [r[3] for r in mail_rows(s)] == ["sent"], what="mail sent")
    assert s.stop() == 0
    t = int(time.time()) - 3 * DAY
    with db(work / "auth.db") as conn:
        conn.execute("UPDATE mail_jobs SET created_at = ?, sent_at = ?", (t, t))
    s2 = start_server(workdir=work, env={"PA_MAIL_RETENTION_DAYS": "2",
                                         "PA_WEBHOOKS_RETENTION_DAYS": "2"})
    assert s2.wait_event("mail-jobs-purged")["deleted"] == 1
    assert s2.wait_event("webhook-deliveries-purged")["retention_days"] == 2
    assert mail_rows(s2) == []
    assert s2.stop() == 0
    for key in ("PA_MAIL_RETENTION_DAYS", "PA_WEBHOOKS_RETENTION_DAYS"):
        r = subprocess.run([BINARY, "check-config"], env={**s2.env, key: "0"},
                           capture_output=True, text=True)
        assert r.returncode == 2, r
        name = key.removeprefix("PA_").lower().replace("_retention", ".retention")
        assert name in r.stderr + r.stdout


@pytest.mark.parametrize("by", ["self", "admin"])
def test_deleting_an_account_erases_its_mail_and_its_plain_email(start_server, by):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    gone = sign_in(s, "gone@example.com", ua="GoneBrowser/1.0")
    sign_in(s, "stays@example.com", ua="StaysBrowser/1.0")
    uid = gone["user"]["id"]
    wait_until(lambda: [r[3] for r in mail_rows(s)] == ["sent"] * 2,
               what="both sign-in mails recorded as sent")
    plain = "SELECT COUNT(*) FROM audit_logs WHERE email = ?"
    wait_until(lambda: db(s).execute(plain, ("gone@example.com",)).fetchone()[0] > 0,
               what="the sign-in audited with the plain address")

    if by == "self":
        r = s.client.delete("/v1/me", headers=bearer(gone))
    else:
        r = s.client.delete(f"/v1/admin/users/{uid}", headers=ADM)
    assert r.status == 204, r
    # The farewell notice is still sent; afterwards no row addressed to the
    # account is left in the queue.
    msgs = wait_for_mail(s, "gone@example.com", count=2)
    assert "deleted" in str(msgs[-1]["Subject"]).lower()
    wait_until(lambda: mail_rows(s, "gone@example.com") == [],
               what="the deleted account's mail jobs erased")
    hashed = "sha256:" + hashlib.sha256(b"gone@example.com").hexdigest()

    def scrubbed():
        with db(s) as conn:
            rows = conn.execute(
                "SELECT event_type, email, user_agent FROM audit_logs "
                "WHERE user_id = ? OR email IN (?, ?)", (uid, "gone@example.com", hashed)).fetchall()
        return (any(r[0] == "account.deleted" for r in rows)
                and all(r[1] in (None, hashed) for r in rows)
                and all(r[2] is None for r in rows)
                and any(r[1] == hashed for r in rows)) and rows

    rows = wait_until(scrubbed, what="the deleted account's audit rows scrubbed")
    assert [r for r in rows if r[0] == "account.deleted"][0][1] == hashed
    with db(s) as conn:
        assert conn.execute(plain, ("gone@example.com",)).fetchone()[0] == 0
        # Nothing of the other account is touched.
        assert conn.execute(plain, ("stays@example.com",)).fetchone()[0] > 0
        assert conn.execute("SELECT COUNT(*) FROM audit_logs WHERE user_agent = "
                            "'StaysBrowser/1.0'").fetchone()[0] > 0
    assert [r[3] for r in mail_rows(s, "stays@example.com")] == ["sent"]
