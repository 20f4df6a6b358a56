"""The browser session cookie `__Host-pa_session` (issue 16) over real HTTP:
its attributes, resolution, the short-lived access token, revocation taking
effect (logout, logout everywhere, user and admin revocation, disable), the
idle timeout and the per-user cap, persistence across a restart, the CSRF
refusals (cross-site Origin, Sec-Fetch-Site: cross-site, no origin at all,
missing or wrong token) that change nothing, login CSRF on cookie sign-ins,
and the /login page's return_to and prompt handling.

The service keeps its default public_url (http://localhost:3000), so a page
of our own origin sends `Origin: http://localhost:3000`."""
import json
import re
import time

import jwt

import db_access
from conftest import wait_until
from pa_flows import (bearer, mail_link_and_code, new_sign_in_mail, outbox_files,
                      sign_in, start)

ORIGIN = "http://localhost:3000"
EVIL = "https://evil.example"
ADMIN = "bootstrap-admin-key-for-tests-0123456789"
COOKIE = "__Host-pa_session"
OURS = {"Origin": ORIGIN}


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def sign_in_mail(server, addr, seen):
    return mail_link_and_code(new_sign_in_mail(server, addr, seen))


def mail_code(server, addr, seen):
    return sign_in_mail(server, addr, seen)[2]


def parse_set_cookie(value):
    """`name=value; A=b; Flag` -> (name, value, {attr-lower: value-or-True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.lower()] = v if eq else True
    return name, val, attrs


def browser_sign_in(server, addr, ua="pytest-browser", headers=None, origin=ORIGIN):
    """A hosted-page code sign-in asking for the cookie. Returns
    (body, cookie value, Set-Cookie attributes)."""
    c = server.client
    seen = {f.name for f in outbox_files(server)}
    flow = start(c, addr)
    code = mail_code(server, addr, seen)
    h = {"X-PA-Session": "cookie", "User-Agent": ua, "Origin": origin, **(headers or {})}
    r = c.post("/v1/auth/email/verify-code",
               json={"flow_id": flow["flow_id"], "code": code}, headers=h)
    assert r.status == 200, r
    name, value, attrs = parse_set_cookie(r.header("set-cookie"))
    assert name == COOKIE
    return r.json(), value, attrs


def with_cookie(value, **extra):
    return {"Cookie": f"{COOKIE}={value}", **extra}


def revoked_reason(server, session_id):
    """Waits for the revocation's row (memory acts first, the row follows)."""
    def read():
        return db(server).execute("SELECT revoked_reason FROM sessions WHERE id = ?",
                                  (session_id,)).fetchone()[0]
    return wait_until(read, what=f"session {session_id} revoked in the database")


def session_state(server, cookie):
    r = server.client.get("/v1/browser/session", headers=with_cookie(cookie))
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    return r.json()


def alive(server, cookie):
    return session_state(server, cookie)["signed_in"]


def browser_token(server, cookie, csrf, **headers):
    h = with_cookie(cookie, **OURS)
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    h.update(headers)
    return server.client.post("/v1/browser/token", headers=h)


def assert_csrf_refused(r, reason):
    assert r.status == 403, r
    err = r.json()["error"]
    assert err["code"] == "cross_site_request", r
    assert err["details"]["reason"] == reason, r
    assert err["request_id"] == r.header("x-request-id")


def verify_with_pyjwt(server, token):
    doc = server.client.get("/.well-known/jwks.json").json()
    keys = {k["kid"]: jwt.PyJWK(k) for k in doc["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid].key, algorithms=["ES256"],
                      audience="passwordless-auth", issuer=ORIGIN)


# -- the cookie and its resolution ------------------------------------------------

def test_a_cookie_sign_in_sets_the_host_cookie_and_answers_no_tokens(server):
    before = int(time.time())
    body, value, attrs = browser_sign_in(server, "cookie@example.com")
    # __Host-: Path=/, no Domain; HttpOnly, SameSite=Lax. Secure although
    # this is plain HTTP: public_url is http://localhost, where browsers take
    # Secure cookies (and refuse a __Host- cookie without Secure).
    assert attrs.get("path") == "/"
    assert "domain" not in attrs
    assert attrs.get("httponly") is True
    assert attrs.get("samesite") == "Lax"
    assert attrs.get("secure") is True
    # Max-Age follows the absolute expiry (tokens.refresh_absolute_ttl).
    max_age = int(attrs["max-age"])
    assert 7776000 - 5 <= max_age <= 7776000
    assert abs(body["session"]["expires_at"] - (before + 7776000)) <= 5
    # No token in the body, and the secret is not in it either.
    text = json.dumps(body)
    assert "access_token" not in body and "refresh_token" not in body
    assert value.split(".", 1)[1] not in text
    assert body["signed_in"] is True and body["user"]["email"] == "cookie@example.com"
    assert body["session"]["amr"] == ["otp"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["csrf_token"])
    assert value.split(".", 1)[0] == body["session"]["id"]
    # At rest: the SHA-256 of the secret, never the secret.
    row = db(server).execute("SELECT secret_hash FROM browser_sessions WHERE session_id = ?",
                             (body["session"]["id"],)).fetchone()
    import hashlib
    assert row[0] == hashlib.sha256(value.split(".", 1)[1].encode()).hexdigest()
    # The same session is listed with the user's others.
    state = session_state(server, value)
    assert state == body


def test_secure_follows_tls_as_a_trusted_proxy_reports_it(start_server):
    public = "http://auth.internal.example"
    s = start_server(env={"PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32",
                          "PA_SERVER_PUBLIC_URL": public})
    _, _, attrs = browser_sign_in(s, "tls@example.com", origin=public,
                                  headers={"X-Forwarded-Proto": "https"})
    assert attrs.get("secure") is True
    # Plain HTTP to a public_url that is not loopback: no Secure (browsers
    # then refuse the cookie: production runs behind TLS).
    _, _, attrs = browser_sign_in(s, "tls@example.com", origin=public)
    assert "secure" not in attrs
    # An untrusted client's header changes nothing.
    plain = start_server(env={"PA_SERVER_PUBLIC_URL": public})
    _, _, attrs = browser_sign_in(plain, "tls2@example.com", origin=public,
                                  headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in attrs


def test_no_malformed_or_forged_cookie_resolves(server):
    body, value, _ = browser_sign_in(server, "forge@example.com")
    sid, secret = value.split(".", 1)
    c = server.client
    r = c.get("/v1/browser/session")
    assert r.status == 200 and r.json() == {"signed_in": False}
    assert not r.header("set-cookie")
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in [f"{sid}.{flipped}", f"{sid}.", sid, f"{sid}.{secret}x", "x" * 80,
                f"00000000-0000-4000-8000-000000000000.{secret}"]:
        r = c.get("/v1/browser/session", headers=with_cookie(bad))
        assert r.status == 200 and r.json() == {"signed_in": False}, bad
    # A well-formed but dead cookie is cleared.
    r = c.get("/v1/browser/session", headers=with_cookie(f"{sid}.{flipped}"))
    name, val, attrs = parse_set_cookie(r.header("set-cookie"))
    assert name == COOKIE and val == "" and attrs["max-age"] == "0"
    # An API session's id with any secret is not a browser session.
    api = sign_in(server, "forge@example.com")
    r = c.get("/v1/browser/session", headers=with_cookie(f"{api['session_id']}.{secret}"))
    assert r.json() == {"signed_in": False}
    assert alive(server, value)


def test_the_browser_token_is_a_real_access_token_of_the_session(server):
    body, value, _ = browser_sign_in(server, "tok@example.com")
    r = browser_token(server, value, body["csrf_token"])
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    t = r.json()
    assert set(t) == {"access_token", "token_type", "expires_in", "session_id"}
    assert t["token_type"] == "Bearer" and t["expires_in"] == 900
    assert t["session_id"] == body["session"]["id"]
    claims = verify_with_pyjwt(server, t["access_token"])
    assert claims["sid"] == body["session"]["id"] and claims["amr"] == ["otp"]
    assert claims["sub"] == body["user"]["id"]
    assert claims["auth_time"] == body["session"]["auth_time"]
    me = server.client.get("/v1/session", headers=bearer(t))
    assert me.status == 200 and me.json()["session"]["id"] == body["session"]["id"]
    listed = server.client.get("/v1/me/sessions", headers=bearer(t)).json()["sessions"]
    assert [x["id"] for x in listed if x["current"]] == [body["session"]["id"]]
    assert listed[0]["user_agent"] == "pytest-browser"
    # No cookie: 401.
    r = server.client.post("/v1/browser/token",
                           headers={**OURS, "X-CSRF-Token": body["csrf_token"]})
    assert r.status == 401 and r.json()["error"]["code"] == "unauthorized"


# -- CSRF ---------------------------------------------------------------------------

def test_cross_site_and_tokenless_requests_are_refused_and_change_nothing(server):
    body, value, _ = browser_sign_in(server, "csrf@example.com")
    other, _, _ = browser_sign_in(server, "csrf2@example.com")
    csrf = body["csrf_token"]
    c = server.client
    cases = [
        # (extra headers, replacing ours, expected reason)
        ({"Origin": EVIL}, "cross_site"),
        ({"Origin": "null"}, "cross_site"),
        ({"Origin": "http://localhost:3001"}, "cross_site"),
        ({"Origin": "https://localhost:3000"}, "cross_site"),
        ({"Origin": None, "Sec-Fetch-Site": "cross-site"}, "cross_site"),
        ({"Origin": None, "Sec-Fetch-Site": "same-site"}, "cross_site"),
        ({"Origin": None}, "cross_site"),
        ({"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}, "cross_site"),
    ]
    for path in ["/v1/browser/token", "/v1/browser/logout"]:
        for extra, reason in cases:
            h = with_cookie(value, **OURS)
            h["X-CSRF-Token"] = csrf
            for k, v in extra.items():
                if v is None:
                    h.pop(k, None)
                else:
                    h[k] = v
            assert_csrf_refused(c.post(path, headers=h), reason)
        # Our origin, but no token, a wrong one, or another session's.
        for token in [None, "", "x" * 43, other["csrf_token"]]:
            h = with_cookie(value, **OURS)
            if token is not None:
                h["X-CSRF-Token"] = token
            assert_csrf_refused(c.post(path, headers=h), "csrf_token")
        # Sec-Fetch-Site: same-origin alone passes the origin half.
        h = with_cookie(value, **{"Sec-Fetch-Site": "same-origin"})
        assert_csrf_refused(c.post(path, headers=h), "csrf_token")
    # Nothing changed: the session is live and no logout was audited.
    assert alive(server, value)
    assert db(server).execute(
        "SELECT COUNT(*) FROM audit_logs WHERE event_type = 'session.logout'").fetchone()[0] == 0
    assert db(server).execute("SELECT revoked_at FROM sessions WHERE id = ?",
                              (body["session"]["id"],)).fetchone()[0] is None


def test_a_cross_site_logout_form_gets_a_page_and_changes_nothing(server):
    body, value, _ = browser_sign_in(server, "form@example.com")
    c = server.client
    r = c.post("/v1/browser/logout", form={"csrf_token": body["csrf_token"]},
               headers=with_cookie(value, Origin=EVIL))
    assert r.status == 403
    assert r.header("content-type").startswith("text/html")
    assert 'data-error="cross_site_request"' in r.text
    r = c.post("/v1/browser/logout", form={"csrf_token": "wrong"},
               headers=with_cookie(value, **OURS))
    assert r.status == 403 and 'data-error="cross_site_request"' in r.text
    assert alive(server, value)
    # The real form: 303 to /login, cookie cleared, session over.
    r = c.post("/v1/browser/logout", form={"csrf_token": body["csrf_token"]},
               headers=with_cookie(value, **OURS))
    assert r.status == 303 and r.header("location") == "/login"
    assert parse_set_cookie(r.header("set-cookie"))[2]["max-age"] == "0"
    assert not alive(server, value)


def test_a_cross_site_cookie_sign_in_is_refused_before_it_consumes_the_code(server):
    c = server.client
    addr = "login-csrf@example.com"
    seen = {f.name for f in outbox_files(server)}
    flow = start(c, addr)
    code = mail_code(server, addr, seen)
    body = {"flow_id": flow["flow_id"], "code": code}
    for h in [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {}]:
        r = c.post("/v1/auth/email/verify-code", json=body,
                   headers={"X-PA-Session": "cookie", **h})
        assert_csrf_refused(r, "cross_site")
        assert not r.header("set-cookie")
    assert db(server).execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    # The code is still good for a same-origin request.
    r = c.post("/v1/auth/email/verify-code", json=body,
               headers={"X-PA-Session": "cookie", **OURS})
    assert r.status == 200 and r.header("set-cookie").startswith(COOKIE + "=")
    # Without the header nothing changes for API clients: tokens, no cookie.
    api = sign_in(server, addr)
    assert api["refresh_token"]


def test_the_exchange_code_of_the_confirmation_form_becomes_the_cookie(server):
    c = server.client
    addr = "confirm@example.com"
    seen = {f.name for f in outbox_files(server)}
    start(c, addr)
    link, _, _ = sign_in_mail(server, addr, seen)
    token = link.split("token=", 1)[1]
    r = c.post("/v1/auth/email/link", form={"token": token, "action": "sign_in"},
               headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status == 303, r
    code = r.header("location").split("#code=", 1)[1]
    r = c.post("/v1/auth/exchange", json={"code": code},
               headers={"X-PA-Session": "cookie", **OURS})
    assert r.status == 200, r
    assert "access_token" not in r.json() and r.json()["session"]["amr"] == ["magic_link"]
    _, value, _ = parse_set_cookie(r.header("set-cookie"))
    assert alive(server, value)


# -- revocation ----------------------------------------------------------------------

def test_logout_clears_the_cookie_and_ends_the_session(server):
    body, value, _ = browser_sign_in(server, "out@example.com")
    r = server.client.post("/v1/browser/logout", json={"scope": "local"},
                           headers=with_cookie(value, **OURS, **{"X-CSRF-Token": body["csrf_token"]}))
    assert r.status == 204, r
    name, val, attrs = parse_set_cookie(r.header("set-cookie"))
    assert (name, val, attrs["max-age"], attrs["path"]) == (COOKIE, "", "0", "/")
    assert not alive(server, value)
    assert browser_token(server, value, body["csrf_token"]).status == 401
    reason = db(server).execute("SELECT revoked_reason FROM sessions WHERE id = ?",
                                (body["session"]["id"],)).fetchone()[0]
    assert reason == "logout_local"
    # The cookie secret is not kept for a dead session.
    assert db(server).execute("SELECT COUNT(*) FROM browser_sessions").fetchone()[0] == 0
    # Logging out again (no live session) is the same 204 with the cookie cleared.
    r = server.client.post("/v1/browser/logout", headers=with_cookie(value, **OURS))
    assert r.status == 204 and "Max-Age=0" in r.header("set-cookie")


def test_global_browser_logout_ends_every_session_of_the_user(server):
    body, value, _ = browser_sign_in(server, "glob@example.com")
    api = sign_in(server, "glob@example.com")
    r = server.client.post("/v1/browser/logout", json={"scope": "global"},
                           headers=with_cookie(value, **OURS, **{"X-CSRF-Token": body["csrf_token"]}))
    assert r.status == 204
    assert not alive(server, value)
    assert server.client.get("/v1/session", headers=bearer(api)).status == 401
    r = server.client.post("/v1/browser/logout", json={"scope": "everything"},
                           headers=with_cookie(value, **OURS))
    assert r.status == 422


def test_every_kind_of_revocation_ends_the_browser_session(start_server):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    c = s.client
    adm = {"Authorization": "Bearer " + ADMIN}
    addr = "revoke@example.com"

    # 1. The user revokes it from another (API) session.
    body, value, _ = browser_sign_in(s, addr)
    api = sign_in(s, addr)
    assert c.delete(f"/v1/me/sessions/{body['session']['id']}", headers=bearer(api)).status == 204
    assert not alive(s, value)

    # 2. Logout everywhere from an API session.
    body, value, _ = browser_sign_in(s, addr)
    r = c.post("/v1/auth/logout", json={"scope": "others"}, headers=bearer(api))
    assert r.status == 204
    assert not alive(s, value)

    # 3. An admin revokes the one session.
    body, value, _ = browser_sign_in(s, addr)
    assert c.delete(f"/v1/admin/sessions/{body['session']['id']}", headers=adm).status == 204
    assert not alive(s, value)

    # 4. The admin disables the account.
    body, value, _ = browser_sign_in(s, addr)
    uid = body["user"]["id"]
    r = c.patch(f"/v1/admin/users/{uid}", json={"disabled": True}, headers=adm)
    assert r.status == 200, r
    assert not alive(s, value)
    assert browser_token(s, value, body["csrf_token"]).status == 401


def test_a_new_cookie_sign_in_replaces_the_old_browser_session(server):
    old, old_value, _ = browser_sign_in(server, "again@example.com")
    new, new_value, _ = browser_sign_in(server, "again@example.com",
                                        headers=with_cookie(old_value))
    assert new["session"]["id"] != old["session"]["id"]
    assert alive(server, new_value)
    assert not alive(server, old_value)
    assert revoked_reason(server, old["session"]["id"]) == "replaced_by_sign_in"


def test_a_browser_session_survives_a_restart(start_server, tmp_path):
    work = tmp_path / "restart"
    s = start_server(workdir=work)
    body, value, _ = browser_sign_in(s, "restart@example.com")
    assert s.stop() == 0
    s2 = start_server(workdir=work)
    state = session_state(s2, value)
    assert state["signed_in"] and state["session"]["id"] == body["session"]["id"]
    assert state["csrf_token"] == body["csrf_token"]
    assert browser_token(s2, value, body["csrf_token"]).status == 200


# -- session policies ---------------------------------------------------------------

def test_the_idle_timeout_ends_an_unused_browser_session_and_use_keeps_it(start_server):
    s = start_server(env={"PA_AUTH_SESSION_IDLE_TIMEOUT": "2"})
    body, value, _ = browser_sign_in(s, "idle@example.com")
    # Used twice a second for twice the timeout: still live (the clock
    # counts whole seconds, so uses a second apart could already be 2 apart).
    for _ in range(8):
        time.sleep(0.5)
        assert alive(s, value)
    # Then left alone: over, and gone from the list too.
    time.sleep(2.5)
    assert not alive(s, value)
    assert browser_token(s, value, body["csrf_token"]).status == 401
    assert revoked_reason(s, body["session"]["id"]) == "idle_timeout"


def test_browser_sessions_count_against_the_per_user_cap(start_server):
    s = start_server(env={"PA_AUTH_SESSION_MAX_PER_USER": "2"})
    addr = "cap@example.com"
    first, first_value, _ = browser_sign_in(s, addr, ua="Browser A")
    second, second_value, _ = browser_sign_in(s, addr, ua="Browser B")
    api = sign_in(s, addr, ua="API C")
    assert not alive(s, first_value)
    assert alive(s, second_value)
    assert revoked_reason(s, first["session"]["id"]) == "session_max_per_user"
    listed = s.client.get("/v1/me/sessions", headers=bearer(api)).json()["sessions"]
    assert {x["id"] for x in listed} == {second["session"]["id"], api["session_id"]}


# -- the hosted page: return_to and prompt --------------------------------------------

def login_page_data(server, query):
    r = server.client.get("/login" + query)
    assert r.status == 200, r
    m = re.search(r'<main[^>]*data-return-to="([^"]*)"[^>]*data-prompt="([^"]*)"', r.text)
    assert m, r.text[:400]
    import html
    return html.unescape(m.group(1)), m.group(2)


def test_login_accepts_only_same_origin_relative_return_to(server):
    import urllib.parse as up
    ok = "/oauth2/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=x"
    assert login_page_data(server, "?return_to=" + up.quote(ok, safe="")) == (ok, "")
    for bad in ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                "\\\\evil.example", "http://localhost:3000/x", "/a/../admin",
                "/a/%2e%2e/admin", "javascript:alert(1)", "/x#frag", "evil.example",
                "/%2F%2Fevil.example", "/a\tb", "/" + "a" * 2100]:
        assert login_page_data(server, "?return_to=" + up.quote(bad, safe=""))[0] == "", bad
    assert login_page_data(server, "?prompt=login")[1] == "login"
    assert login_page_data(server, "?prompt=none")[1] == ""
    assert login_page_data(server, "")[0:2] == ("", "")


# -- every hosted sign-in method can take the cookie -------------------------------

COOKIE_SIGN_IN = {"X-PA-Session": "cookie", **OURS}


def assert_browser_signed_in(server, r, amr):
    import openapi_check
    assert r.status == 200, r
    body = r.json()
    openapi_check.validate(body, "BrowserSession")
    assert "access_token" not in body and "refresh_token" not in body
    assert body["session"]["amr"] == amr if amr else body["session"]["amr"]
    name, value, attrs = parse_set_cookie(r.header("set-cookie"))
    assert name == COOKIE and attrs.get("httponly") is True
    assert alive(server, value)
    return body, value


def test_passkey_totp_and_recovery_sign_ins_take_the_cookie(server):
    from soft_authenticator import SoftAuthenticator
    from test_passkeys import register
    from test_totp import enabled_user, oathtool
    c = server.client
    addr = "methods@example.com"
    tokens, secret, codes = enabled_user(server, addr)

    authn = SoftAuthenticator()
    register(server, tokens, authn)
    opts = c.post("/v1/webauthn/login/options", json={}).json()
    r = c.post("/v1/webauthn/login/verify",
               json={"challenge_id": opts["challenge_id"],
                     "credential": authn.get(opts["public_key"])},
               headers=COOKIE_SIGN_IN)
    assert_browser_signed_in(server, r, ["webauthn"])

    # One step ahead: the enrolment's confirmation used the current step.
    r = c.post("/v1/auth/totp/verify",
               json={"email": addr, "code": oathtool(secret, time.time() + 30)},
               headers=COOKIE_SIGN_IN)
    assert_browser_signed_in(server, r, ["totp"])

    r = c.post("/v1/auth/recovery", json={"email": addr, "recovery_code": codes[0]},
               headers=COOKIE_SIGN_IN)
    assert_browser_signed_in(server, r, None)

    # And the JSON link confirmation.
    seen = {f.name for f in outbox_files(server)}
    start(c, addr)
    link, _, _ = sign_in_mail(server, addr, seen)
    r = c.post("/v1/auth/email/link", json={"token": link.split("token=", 1)[1]},
               headers=COOKIE_SIGN_IN)
    assert_browser_signed_in(server, r, ["magic_link"])
    # The session list holds them all, with the API session of the set-up.
    listed = c.get("/v1/me/sessions", headers=bearer(tokens)).json()["sessions"]
    assert len(listed) == 5


def test_malformed_logout_bodies_get_the_documented_errors_and_change_nothing(server):
    body, value, _ = browser_sign_in(server, "bad-body@example.com")
    h = with_cookie(value, **OURS, **{"X-CSRF-Token": body["csrf_token"]})
    c = server.client
    r = c.post("/v1/browser/logout", body="{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_json", r
    r = c.post("/v1/browser/logout", body="scope=local", headers={**h, "Content-Type": "text/plain"})
    assert r.status == 415 and r.json()["error"]["code"] == "unsupported_media_type", r
    r = c.post("/v1/browser/logout", json={"scope": 7}, headers=h)
    assert r.status == 422 and "scope" in r.json()["error"]["details"], r
    r = c.post("/v1/browser/logout", json=["local"], headers=h)
    assert r.status in (400, 422), r
    assert alive(server, value)
    # A CSRF token of the wrong length or with odd characters is just wrong.
    for token in ["a" * 500, "é" * 43, "\t"]:
        r = browser_token(server, value, token)
        assert_csrf_refused(r, "csrf_token")
    assert alive(server, value)
