"""Session policies over real HTTP, the real outbox and a real webhook
receiver: auth.session_max_per_user (the oldest sessions are revoked when a
sign-in would exceed it, at once, with an audit event, a webhook and a mail
in the user's language) and auth.session_idle_timeout (no refresh for that
long ends the session: its access tokens fail and its refresh is refused).
The binary has no clock to move, so the idle test uses a 2 s timeout and
polls for the outcome."""
import json
import time

import db_access
from conftest import wait_until
from pa_flows import bearer, sign_in, wait_for_mail
from test_caf_api import PLAINTEXT, run_client
from test_webhooks import WEBHOOK_ENV, Receiver, create_endpoint


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def session_status(server, tokens):
    return server.client.get("/v1/session", headers=bearer(tokens)).status


def refresh(server, tokens):
    return server.client.post("/v1/token/refresh",
                              json={"refresh_token": tokens["refresh_token"]})


def assert_refused(r):
    assert r.status == 401, r
    assert r.json()["error"]["code"] == "invalid_refresh_token", r


def audit_rows(server, type_):
    return [(u, json.loads(m)) for u, m in db(server).execute(
        "SELECT user_id, metadata FROM audit_logs WHERE event_type = ?", (type_,))]


def revoked_reason(server, session_id):
    return db(server).execute("SELECT revoked_reason FROM sessions WHERE id = ?",
                              (session_id,)).fetchone()[0]


def test_a_sign_in_beyond_the_limit_evicts_the_oldest_with_a_notice(start_server):
    rx = Receiver()
    try:
        s = start_server(env={**WEBHOOK_ENV, "PA_AUTH_SESSION_MAX_PER_USER": "2"})
        ep = create_endpoint(s.client, rx.port, types=("session.evicted",))
        addr = "max@example.com"
        a = sign_in(s, addr, ua="Device A")
        b = sign_in(s, addr, ua="Device B")
        # The notice goes out in the user's saved language.
        r = s.client.patch("/v1/me", json={"locale": "de"}, headers=bearer(b))
        assert r.status == 200, r
        assert session_status(s, a) == 200 and session_status(s, b) == 200
        c = sign_in(s, addr, ua="Mozilla/5.0 (X11; Linux x86_64) Device C")

        # Immediately: the oldest session is gone, the others live.
        assert session_status(s, a) == 401
        assert session_status(s, b) == 200 and session_status(s, c) == 200
        assert_refused(refresh(s, a))
        assert refresh(s, b).status == 200
        assert revoked_reason(s, a["session_id"]) == "session_max_per_user"
        listed = s.client.get("/v1/me/sessions", headers=bearer(c)).json()["sessions"]
        assert {x["id"] for x in listed} == {b["session_id"], c["session_id"]}

        # The audit event names the evicted session and what evicted it.
        rows = wait_until(lambda: audit_rows(s, "session.evicted"), what="audit")
        assert len(rows) == 1
        user_id, meta = rows[0]
        assert user_id == a["user"]["id"]
        assert meta["session_id"] == a["session_id"]
        assert meta["new_session_id"] == c["session_id"]
        assert meta["reason"] == "session_max_per_user" and meta["limit"] == 2

        # The webhook, signed like every other.
        reqs = rx.wait(lambda rs: len(rs) >= 1)
        event = json.loads(reqs[0][1])
        assert event["type"] == "session.evicted"
        assert event["data"]["metadata"]["session_id"] == a["session_id"]
        assert reqs[0][0]["webhook-signature"].startswith("v1,")

        # The mail (after three sign-in mails), in German, naming the new
        # sign-in's device and the limit.
        msgs = wait_for_mail(s, addr, count=4)
        notice = [m for m in msgs if "abgemeldet" in str(m["Subject"])]
        assert len(notice) == 1, [str(m["Subject"]) for m in msgs]
        text = notice[0].get_body(preferencelist=("plain",)).get_content()
        assert "Abgemeldete Sitzungen: 1" in text
        assert "Erlaubte Sitzungen: 2" in text
        assert "Device C" in text
        assert notice[0].get_body(preferencelist=("html",)) is not None
    finally:
        rx.stop()


def test_without_a_limit_nothing_is_evicted(server):
    tokens = [sign_in(server, "many@example.com") for _ in range(4)]
    assert all(session_status(server, t) == 200 for t in tokens)
    assert audit_rows(server, "session.evicted") == []


def test_an_idle_session_ends_for_token_checks_and_refresh(start_server):
    s = start_server(env={"PA_AUTH_SESSION_IDLE_TIMEOUT": "2"})
    t = sign_in(s, "idle@example.com")
    # A refresh in time keeps the session (and restarts its idle time).
    before_refresh = time.monotonic()
    r = refresh(s, t)
    assert r.status == 200, r
    t2 = r.json()
    assert session_status(s, t2) == 200
    # Token checks do not count as activity: polling /v1/session does not
    # keep it alive, and it ends within the access token's own lifetime.
    wait_until(lambda: session_status(s, t2) == 401, timeout=15,
               what="the idle session to end", interval=0.2)
    # Activity is kept in whole seconds (docs/account-lifecycle.md): with a
    # 2 s timeout the session ends more than 1 s after the refresh, never
    # sooner (and, by the wait above, not much later).
    assert time.monotonic() - before_refresh > 1.0
    assert_refused(refresh(s, t2))
    assert revoked_reason(s, t["session_id"]) == "idle_timeout"
    rows = wait_until(lambda: audit_rows(s, "session.revoked"), what="audit")
    assert [m["reason"] for _, m in rows] == ["idle_timeout"]
    assert rows[0][1]["session_id"] == t["session_id"]
    # Signing in again opens a fresh session.
    assert session_status(s, sign_in(s, "idle@example.com")) == 200


def test_an_idle_session_is_over_for_the_caf_api_too(start_server):
    s = start_server(env={**PLAINTEXT, "PA_AUTH_SESSION_IDLE_TIMEOUT": "2"})
    t = sign_in(s, "cafidle@example.com")
    wait_until(lambda: run_client(s, "session", t["session_id"])[1][-1]["live"] is False,
               timeout=15, what="CAF to see the session end", interval=0.2)
    rc, out, _ = run_client(s, "verify", t["access_token"])
    assert (rc, out[-1]) == (1, {"error": "unauthorized"})
    assert revoked_reason(s, t["session_id"]) == "idle_timeout"


def test_an_eviction_is_effective_for_the_caf_api_at_once(start_server):
    s = start_server(env={**PLAINTEXT, "PA_AUTH_SESSION_MAX_PER_USER": "1"})
    a = sign_in(s, "cafmax@example.com")
    rc, out, _ = run_client(s, "verify", a["access_token"])
    assert rc == 0, out
    b = sign_in(s, "cafmax@example.com")
    rc, out, _ = run_client(s, "verify", a["access_token"])
    assert (rc, out[-1]) == (1, {"error": "unauthorized"})
    rc, out, _ = run_client(s, "session", a["session_id"])
    assert rc == 0 and out[-1]["live"] is False
    rc, out, _ = run_client(s, "verify", b["access_token"])
    assert rc == 0 and out[-1]["sid"] == b["session_id"]


def test_bad_policy_values_stop_the_start(start_server, tmp_path):
    from test_custom_claims import run_binary
    for key, value in (("PA_AUTH_SESSION_MAX_PER_USER", "-1"),
                       ("PA_AUTH_SESSION_IDLE_TIMEOUT", "soon")):
        r = run_binary(tmp_path, {key: value})
        assert r.returncode == 2, r.stderr
        assert key.removeprefix("PA_AUTH_").lower() in r.stderr, r.stderr
