"""The token check without a hop (issue 13): the HTTP fronts answer a valid
access token from the session actor's published view, without a message.
Every revocation path must still take effect at once: right after the
revoking request is answered, the revoked token is refused on the
connection that revoked and on a fresh one (requests are spread over the
front actors one by one, so the checks land on different fronts too).

Each test first uses the token a few times, so that its check is answered
from the view (the first check of a token goes to the session actor, which
publishes it); without the publish-before-acknowledge rule these checks
would still pass."""
import http.client
import json
import time

import email
import email.policy
import re

import db_access
from conftest import wait_until
from pa_flows import bearer, outbox_files, start
from test_admin import ADMIN, adm


def sign_in(server, addr, ua="pytest"):
    """A code sign-in that skips other mail to the address (revocations
    and logouts may send the user a notice while it waits)."""
    seen = {f.name for f in outbox_files(server)}
    flow = start(server.client, addr)
    deadline = time.monotonic() + 15
    code = None
    while code is None:
        assert time.monotonic() < deadline, f"no sign-in mail to {addr}"
        for f in outbox_files(server):
            if f.name in seen:
                continue
            seen.add(f.name)
            m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            text = m.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"^\s+(\d{6})\s*$", text, re.M)
            if addr in str(m["To"]).lower() and found:
                code = found.group(1)
        time.sleep(0.02)
    r = server.client.post("/v1/auth/email/verify-code",
                           json={"flow_id": flow["flow_id"], "code": code},
                           headers={"User-Agent": ua})
    assert r.status == 200, r
    return r.json()


class Conn:
    """One keep-alive connection (the pa_client opens one per request)."""

    def __init__(self, server):
        self.c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)

    def request(self, method, path, headers=None, body=None):
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=headers)
        r = self.c.getresponse()
        payload = r.read()
        assert r.getheader("Connection", "").lower() != "close", r.getheaders()
        return r.status, payload

    def session(self, tokens):
        return self.request("GET", "/v1/session", bearer(tokens))[0]

    def close(self):
        self.c.close()


def warm(server, conn, *tokens):
    """Checks each token enough times (over both fronts and a fresh
    connection) that later checks come from the view."""
    for t in tokens:
        for _ in range(4):
            assert conn.session(t) == 200
            assert server.client.get("/v1/session", headers=bearer(t)).status == 200


def refused_everywhere(server, conn, tokens):
    """Right after a revocation: 401 on the same connection and on fresh
    ones, several times (both fronts), with the documented error."""
    for _ in range(3):
        status, body = conn.request("GET", "/v1/session", bearer(tokens))
        assert status == 401, body
        assert json.loads(body)["error"]["code"] == "unauthorized"
        r = server.client.get("/v1/session", headers=bearer(tokens))
        assert r.status == 401, r
        # Another authenticated route, through the same check.
        assert server.client.get("/v1/me", headers=bearer(tokens)).status == 401


def test_a_repeated_token_keeps_answering_with_the_session(server):
    conn = Conn(server)
    t = sign_in(server, "view-repeat@example.com")
    warm(server, conn, t)
    status, body = conn.request("GET", "/v1/session", bearer(t))
    assert status == 200
    got = json.loads(body)
    assert got["session"]["id"] == t["session_id"]
    assert got["user"]["email"] == "view-repeat@example.com"
    # A profile change shows at once in checks answered by the view.
    r = server.client.patch("/v1/me", json={"display_name": "Viewed"}, headers=bearer(t))
    assert r.status == 200, r
    status, body = conn.request("GET", "/v1/session", bearer(t))
    assert status == 200 and json.loads(body)["user"]["display_name"] == "Viewed"
    # Checks answered by the view still count as activity in session lists.
    before = server.client.get("/v1/me/sessions", headers=bearer(t)).json()["sessions"][0]
    time.sleep(1.1)
    warm(server, conn, t)
    after = server.client.get("/v1/me/sessions", headers=bearer(t)).json()["sessions"][0]
    assert after["last_seen_at"] > before["last_seen_at"], (before, after)
    # A malformed or foreign token is still refused.
    assert conn.request("GET", "/v1/session", {"Authorization": "Bearer x.y.z"})[0] == 401
    conn.close()


def test_logout_local_others_and_global(server):
    conn = Conn(server)
    addr = "view-logout@example.com"
    a, b, c = (sign_in(server, addr, ua=f"Device {x}") for x in "ABC")
    warm(server, conn, a, b, c)
    status, _ = conn.request("POST", "/v1/auth/logout", bearer(a), {"scope": "local"})
    assert status in (200, 204)
    refused_everywhere(server, conn, a)
    assert conn.session(b) == 200 and conn.session(c) == 200

    d = sign_in(server, addr, ua="Device D")
    warm(server, conn, d)
    status, _ = conn.request("POST", "/v1/auth/logout", bearer(b), {"scope": "others"})
    assert status in (200, 204)
    refused_everywhere(server, conn, c)
    refused_everywhere(server, conn, d)
    assert conn.session(b) == 200

    e = sign_in(server, addr, ua="Device E")
    warm(server, conn, e)
    status, _ = conn.request("POST", "/v1/auth/logout", bearer(b), {"scope": "global"})
    assert status in (200, 204)
    refused_everywhere(server, conn, b)
    refused_everywhere(server, conn, e)
    conn.close()


def test_revoking_one_of_my_sessions(server):
    conn = Conn(server)
    a = sign_in(server, "view-mine@example.com", ua="A")
    b = sign_in(server, "view-mine@example.com", ua="B")
    warm(server, conn, a, b)
    status, body = conn.request("DELETE", f"/v1/me/sessions/{b['session_id']}", bearer(a))
    assert status in (200, 204), body
    refused_everywhere(server, conn, b)
    assert conn.session(a) == 200
    conn.close()


def test_admin_revoke_disable_and_delete(start_server):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    conn = Conn(s)
    one = sign_in(s, "view-admin1@example.com")
    two = sign_in(s, "view-admin1@example.com")
    warm(s, conn, one, two)
    status, body = conn.request("DELETE", f"/v1/admin/sessions/{one['session_id']}", adm())
    assert status in (200, 204), body
    refused_everywhere(s, conn, one)
    assert conn.session(two) == 200

    uid = two["user"]["id"]
    three = sign_in(s, "view-admin1@example.com")
    warm(s, conn, three)
    status, body = conn.request("DELETE", f"/v1/admin/users/{uid}/sessions", adm())
    assert status in (200, 204), body
    refused_everywhere(s, conn, two)
    refused_everywhere(s, conn, three)

    four = sign_in(s, "view-admin1@example.com")
    warm(s, conn, four)
    status, body = conn.request("PATCH", f"/v1/admin/users/{uid}", adm(), {"disabled": True})
    assert status == 200, body
    refused_everywhere(s, conn, four)

    other = sign_in(s, "view-admin2@example.com")
    warm(s, conn, other)
    status, body = conn.request("DELETE", f"/v1/admin/users/{other['user']['id']}", adm())
    assert status in (200, 204), body
    refused_everywhere(s, conn, other)
    conn.close()


def test_deleting_my_account(server):
    conn = Conn(server)
    t = sign_in(server, "view-delete@example.com")
    warm(server, conn, t)
    status, body = conn.request("DELETE", "/v1/me", bearer(t))
    assert status in (200, 202, 204), body
    refused_everywhere(server, conn, t)
    conn.close()


def test_refresh_reuse_revokes_the_family_at_once(start_server):
    s = start_server(env={"PA_TOKENS_REFRESH_GRACE": "0"})
    conn = Conn(s)
    t0 = sign_in(s, "view-reuse@example.com")
    status, body = conn.request("POST", "/v1/token/refresh", None,
                                {"refresh_token": t0["refresh_token"]})
    assert status == 200, body
    t1 = json.loads(body)
    warm(s, conn, t0, t1)
    # The replaced token again: a reuse, the whole family goes.
    status, body = conn.request("POST", "/v1/token/refresh", None,
                                {"refresh_token": t0["refresh_token"]})
    assert status == 401 and json.loads(body)["error"]["code"] == "refresh_token_reused", body
    refused_everywhere(s, conn, t1)
    refused_everywhere(s, conn, t0)
    conn.close()


def test_eviction_by_the_session_limit(start_server):
    s = start_server(env={"PA_AUTH_SESSION_MAX_PER_USER": "1"})
    conn = Conn(s)
    a = sign_in(s, "view-evict@example.com")
    warm(s, conn, a)
    b = sign_in(s, "view-evict@example.com")
    refused_everywhere(s, conn, a)
    assert conn.session(b) == 200
    conn.close()


def test_idle_timeout_ends_a_session_answered_by_the_view(start_server):
    s = start_server(env={"PA_AUTH_SESSION_IDLE_TIMEOUT": "2"})
    conn = Conn(s)
    t = sign_in(s, "view-idle@example.com")
    warm(s, conn, t)
    # Checks are not activity: only a refresh restarts the idle time.
    wait_until(lambda: conn.session(t) == 401, timeout=6, what="idle timeout",
               interval=0.1)
    refused_everywhere(s, conn, t)
    db = db_access.connect(s.workdir / "auth.db", isolation_level=None)
    reason = wait_until(lambda: db.execute(
        "SELECT revoked_reason FROM sessions WHERE id = ?",
        (t["session_id"],)).fetchone()[0], what="the idle revocation")
    assert reason == "idle_timeout"
    conn.close()
