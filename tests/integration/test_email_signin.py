"""Email sign-in, sessions and tokens over real HTTP with a real outbox."""
import base64
import concurrent.futures
import json
import os
import subprocess
import time

import jwt
import pytest

import db_access
from conftest import BINARY, MAIL_SCANS, wait_scans, wait_until
from pa_flows import (bearer, mail_link_and_code, new_mail, outbox_files,
                      outbox_messages, sign_in, start, wait_for_mail)


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def jwks_client_keys(server):
    doc = server.client.get("/.well-known/jwks.json").json()
    return {k["kid"]: jwt.PyJWK(k) for k in doc["keys"]}


def verify_with_pyjwt(server, token):
    """Verifies our token independently, using only the JWKS document."""
    keys = jwks_client_keys(server)
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid].key, algorithms=["ES256"],
                      audience="passwordless-auth",
                      issuer="http://localhost:3000")


def assert_token_response(r):
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    t = r.json()
    for k in ["access_token", "token_type", "expires_in", "refresh_token",
              "refresh_expires_in", "session_id", "user"]:
        assert k in t, k
    assert t["token_type"] == "Bearer"
    assert set(t["user"]) >= {"id", "email", "display_name", "created_at"}
    return t


def test_link_flow_page_consumes_nothing_and_post_signs_in(server):
    c = server.client
    flow = start(c, "  Alice@Example.COM ")
    msg = wait_for_mail(server, "alice@example.com")[0]
    assert msg.get_body(preferencelist=("html",)) is not None
    link, token, code = mail_link_and_code(msg)
    path = link.split("3000", 1)[1]
    for _ in range(3):  # mail scanners prefetch links: nothing is consumed
        page = c.get(path)
        assert page.status == 200
        assert page.header("content-type").startswith("text/html")
        assert "default-src 'self'" in page.header("content-security-policy")
        assert f'value="{token}"' in page.text and 'method="post"' in page.text
    head = c.request("HEAD", path)
    assert head.status == 200 and head.body == b""
    r = c.post("/v1/auth/email/link", json={"token": token})
    t = assert_token_response(r)
    assert t["user"]["email"] == "alice@example.com"
    claims = verify_with_pyjwt(server, t["access_token"])
    assert claims["amr"] == ["magic_link"] and claims["sid"] == t["session_id"]
    assert claims["sub"] == t["user"]["id"]
    s = c.get("/v1/session", headers=bearer(t))
    assert s.status == 200
    assert s.json()["session"]["id"] == t["session_id"]
    # Replaying the used link fails, as JSON and as a form.
    r = c.post("/v1/auth/email/link", json={"token": token})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_link"
    r = c.post("/v1/auth/email/link", form={"token": token},
               headers={"Origin": "http://localhost:3000"})
    assert r.status == 400 and r.header("content-type").startswith("text/html")
    # The code of a consumed flow is dead too.
    r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": code})
    assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"


def test_cross_device_exchange_pending_approved_collected_once(server):
    c = server.client
    flow = start(c, "bob@example.com")
    ex = {"flow_id": flow["flow_id"], "flow_secret": flow["flow_secret"]}
    r = c.post("/v1/auth/email/exchange", json=ex)
    assert r.status == 202 and r.json() == {"status": "pending"}
    wrong = c.post("/v1/auth/email/exchange", json={**ex, "flow_secret": "x" * 43})
    assert wrong.status == 400 and wrong.json()["error"]["code"] == "flow_expired"
    _, token, _ = mail_link_and_code(wait_for_mail(server, "bob@example.com")[0])
    # The other device approves the hand-over with the number this one shows
    # (a plain confirmation would sign in that other browser instead).
    page = c.post("/v1/auth/email/link", headers={"Origin": "http://localhost:3000"},
                  form={"token": token, "action": "approve",
                        "match": str(flow["match_number"])})
    assert page.status == 200 and 'data-ok="true"' in page.text
    t = assert_token_response(c.post("/v1/auth/email/exchange", json=ex))
    assert t["user"]["email"] == "bob@example.com"
    again = c.post("/v1/auth/email/exchange", json=ex)
    assert again.status == 400 and again.json()["error"]["code"] == "flow_expired"


def test_expired_flow_cannot_be_used(server):
    c = server.client
    flow = start(c, "late@example.com")
    _, token, code = mail_link_and_code(wait_for_mail(server, "late@example.com")[0])
    with db(server) as conn:
        conn.execute("UPDATE email_flows SET expires_at = strftime('%s','now') - 1")
    ex = {"flow_id": flow["flow_id"], "flow_secret": flow["flow_secret"]}
    assert c.post("/v1/auth/email/exchange", json=ex).json()["error"]["code"] == "flow_expired"
    assert c.post("/v1/auth/email/link", json={"token": token}).json()["error"]["code"] == "invalid_link"
    r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": code})
    assert r.json()["error"]["code"] == "flow_expired"


def test_code_flow_and_the_five_try_cap(server):
    c = server.client
    flow = start(c, "carol@example.com")
    _, _, code = mail_link_and_code(wait_for_mail(server, "carol@example.com")[0])
    wrong = "000000" if code != "000000" else "111111"
    for i in range(4):
        r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": wrong})
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_code", i
    t = assert_token_response(c.post("/v1/auth/email/verify-code",
                                     json={"flow_id": flow["flow_id"], "code": code}))
    assert verify_with_pyjwt(server, t["access_token"])["amr"] == ["otp"]
    seen = {f.name for f in outbox_files(server)}
    flow = start(c, "carol@example.com")
    _, _, code = mail_link_and_code(new_mail(server, "carol@example.com", seen))
    for i in range(5):
        r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": wrong})
        assert r.json()["error"]["code"] == "invalid_code", i
    r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": code})
    assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"


def test_two_concurrent_consumptions_of_one_link_exactly_one_wins(server):
    c = server.client
    start(c, "race@example.com")
    _, token, _ = mail_link_and_code(wait_for_mail(server, "race@example.com")[0])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: c.post("/v1/auth/email/link", json={"token": token}),
                                range(8)))
    statuses = sorted(r.status for r in results)
    assert statuses == [200] + [400] * 7
    with db(server) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1


def test_unknown_and_known_addresses_are_indistinguishable(start_server):
    for signup in ["true", "false"]:
        s = start_server(env={"PA_AUTH_ALLOW_SIGNUP": signup})
        sign_in(s, "known@example.com") if signup == "true" else None
        if signup == "false":
            with db(s) as conn:
                conn.execute("INSERT INTO users(id,email,created_at,updated_at) "
                             "VALUES('u1','known@example.com',1,1)")
        a = s.client.post("/v1/auth/email/start", json={"email": "known@example.com"})
        b = s.client.post("/v1/auth/email/start", json={"email": "nobody@example.com"})
        assert a.status == b.status == 202
        ja, jb = a.json(), b.json()
        assert set(ja) == set(jb) == {"flow_id", "flow_secret", "match_number", "expires_in"}
        assert len(ja["flow_id"]) == len(jb["flow_id"])
        assert len(ja["flow_secret"]) == len(jb["flow_secret"])
        assert ja["expires_in"] == jb["expires_in"]
        assert set(a.headers) == set(b.headers)
        if signup == "false":
            wait_for_mail(s, "known@example.com")
            # The mailer has looked at the queue since: a wrongly queued mail
            # would be in the outbox now.
            wait_scans(s, MAIL_SCANS)
            assert not [m for m in outbox_messages(s) if "nobody" in str(m["To"])]
            with db(s) as conn:
                assert conn.execute("SELECT COUNT(*) FROM mail_jobs WHERE "
                                    "to_email='nobody@example.com'").fetchone()[0] == 0
                assert conn.execute("SELECT COUNT(*) FROM users WHERE email='nobody@example.com'").fetchone()[0] == 0


def test_user_row_is_created_only_when_the_flow_completes(server):
    start(server.client, "new@example.com")
    wait_for_mail(server, "new@example.com")  # so sign_in's mail is the next one
    with db(server) as conn:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    sign_in(server, "new@example.com")
    with db(server) as conn:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1


def test_send_caps_answer_202_without_mail(start_server):
    s = start_server(env={"PA_AUTH_EMAIL_MIN_INTERVAL": "60", "PA_AUTH_EMAIL_HOURLY_CAP": "5"})
    for _ in range(3):
        assert s.client.post("/v1/auth/email/start", json={"email": "cap@example.com"}).status == 202
    wait_for_mail(s, "cap@example.com")
    wait_scans(s, MAIL_SCANS)  # a wrongly queued second mail would be out now
    assert len(wait_for_mail(s, "cap@example.com")) == 1
    s.wait_event("request", pred=lambda e: e.get("suppressed") == "min_interval")
    assert 'email_sends_suppressed_total{reason="min_interval"} 2' in s.client.get("/metrics").text


def test_validation_and_malformed_input_never_500(server):
    c = server.client
    bad = [
        ("/v1/auth/email/start", b'{"email": "not-an-address"}', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/start", b'{"email": 42}', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/start", b'{}', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/start", b'{"email": "a@b.co"', "application/json", 400, "invalid_json"),
        ("/v1/auth/email/start", b'{"email": "a@b.co"}', "text/plain", 415, "unsupported_media_type"),
        ("/v1/auth/email/start", b'[1]', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/start", b'\xff\xfe', "application/json", 400, "invalid_json"),
        ("/v1/auth/email/start", ('{"email": "' + "a" * 300 + '@x.com"}').encode(), "application/json", 422, "validation_failed"),
        ("/v1/auth/email/verify-code", b'{"flow_id": "x", "code": "12345"}', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/verify-code", b'{"flow_id": "x", "code": "abcdef"}', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/verify-code", b'{"flow_id": "nope", "code": "123456"}', "application/json", 400, "flow_expired"),
        ("/v1/auth/email/link", b'{"token": 5}', "application/json", 422, "validation_failed"),
        ("/v1/auth/email/link", b'{"token": "garbage"}', "application/json", 400, "invalid_link"),
        ("/v1/auth/email/exchange", b'{"flow_id": "x"}', "application/json", 422, "validation_failed"),
        ("/v1/auth/exchange", b'{"code": "nope"}', "application/json", 400, "invalid_exchange_code"),
        ("/v1/token/refresh", b'{"refresh_token": "short"}', "application/json", 401, "invalid_refresh_token"),
        ("/v1/token/refresh", b'{"refresh_token": "' + b"A" * 43 + b'"}', "application/json", 401, "invalid_refresh_token"),
        ("/v1/token/refresh", b'{"refresh_token": null}', "application/json", 422, "validation_failed"),
    ]
    for path, body, ctype, status, code in bad:
        r = c.post(path, body=body, headers={"Content-Type": ctype})
        assert r.status == status, (path, body, r)
        assert r.json()["error"]["code"] == code, (path, body, r)
        assert r.json()["error"]["request_id"] == r.header("x-request-id")
    for tok in ["", "abc", "a.b.c", "e30.e30.", "x" * 9000, "Bearer"]:
        r = c.get("/v1/session", headers={"Authorization": "Bearer " + tok})
        assert r.status in (401, 431), (tok, r)
        if r.status == 401:
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.header("www-authenticate") == "Bearer"
    assert c.get("/v1/session").status == 401
    assert c.get("/v1/session", headers={"Authorization": "Basic abc"}).status == 401


def test_redirect_allow_list_and_exchange_code(start_server):
    s = start_server(env={"PA_AUTH_REDIRECT_ALLOW_LIST": "https://app.example.com/callback"})
    c = s.client
    for bad in ["https://evil.example.com/callback", "https://app.example.com.evil.com/callback",
                "javascript:alert(1)", "https://app.example.com/other"]:
        r = c.post("/v1/auth/email/start", json={"email": "r@example.com", "redirect_to": bad})
        assert r.status == 422 and "redirect_to" in r.json()["error"]["details"], bad
    start(c, "r@example.com", redirect_to="https://app.example.com/callback/done")
    _, token, _ = mail_link_and_code(wait_for_mail(s, "r@example.com")[0])
    r = c.post("/v1/auth/email/link", form={"token": token},
               headers={"Origin": "http://localhost:3000"})
    assert r.status == 303
    loc = r.header("location")
    assert loc.startswith("https://app.example.com/callback/done#code=")
    code = loc.split("#code=", 1)[1]
    t = assert_token_response(c.post("/v1/auth/exchange", json={"code": code}))
    assert c.get("/v1/session", headers=bearer(t)).status == 200
    again = c.post("/v1/auth/exchange", json={"code": code})
    assert again.status == 400 and again.json()["error"]["code"] == "invalid_exchange_code"


def test_refresh_rotation_grace_window_and_reuse_detection(start_server):
    s = start_server(env={"PA_TOKENS_REFRESH_GRACE": "2"})
    c = s.client
    t0 = sign_in(s, "dave@example.com")
    r1 = assert_token_response(c.post("/v1/token/refresh", json={"refresh_token": t0["refresh_token"]}))
    assert r1["refresh_token"] != t0["refresh_token"]
    assert r1["session_id"] == t0["session_id"]
    # Within the grace window the old token yields the same successor.
    again = assert_token_response(c.post("/v1/token/refresh", json={"refresh_token": t0["refresh_token"]}))
    assert again["refresh_token"] == r1["refresh_token"]
    rotated = time.time()  # r1 is replaced no earlier than this
    r2 = assert_token_response(c.post("/v1/token/refresh", json={"refresh_token": r1["refresh_token"]}))

    def replay_r1():
        r = c.post("/v1/token/refresh", json={"refresh_token": r1["refresh_token"]})
        if r.status == 200:  # still within the grace window: the same successor
            assert r.json()["refresh_token"] == r2["refresh_token"]
            return None
        return r
    # Past the (shortened, 2 s) grace window the replay revokes the family:
    # not before 1 s (whole seconds), and not as late as the 10 s default.
    reused = wait_until(replay_r1, timeout=4, what="the grace window to end",
                        interval=0.1)
    assert time.time() - rotated >= 1
    assert reused.status == 401 and reused.json()["error"]["code"] == "refresh_token_reused"
    # The whole family is gone: the newest token and the access tokens too.
    assert c.post("/v1/token/refresh", json={"refresh_token": r2["refresh_token"]}).status == 401
    assert c.get("/v1/session", headers=bearer(r2)).status == 401
    s.wait_event("refresh-token-reused")
    assert "token_refreshes_total 2" in c.get("/metrics").text  # rotations, not grace replays


def test_parallel_refreshes_yield_exactly_one_live_successor(server):
    c = server.client
    t = sign_in(server, "erin@example.com")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(
            lambda _: c.post("/v1/token/refresh", json={"refresh_token": t["refresh_token"]}),
            range(16)))
    assert all(r.status == 200 for r in results), [r.status for r in results]
    successors = {r.json()["refresh_token"] for r in results}
    assert len(successors) == 1
    with db(server) as conn:
        live = conn.execute("SELECT COUNT(*) FROM refresh_tokens WHERE replaced_at IS NULL").fetchone()[0]
    assert live == 1
    assert c.post("/v1/token/refresh", json={"refresh_token": successors.pop()}).status == 200


def test_logout_scopes_and_immediate_revocation(server):
    c = server.client
    a, b, d = (sign_in(server, "frank@example.com", ua=f"device-{i}") for i in range(3))
    other = sign_in(server, "grace@example.com")
    listing = c.get("/v1/me/sessions", headers=bearer(a)).json()["sessions"]
    assert len(listing) == 3 and sum(s["current"] for s in listing) == 1
    assert {s["user_agent"] for s in listing} == {"device-0", "device-1", "device-2"}
    # local: only this session
    assert c.post("/v1/auth/logout", json={"scope": "local"}, headers=bearer(a)).status == 204
    assert c.get("/v1/session", headers=bearer(a)).status == 401
    assert c.get("/v1/session", headers=bearer(b)).status == 200
    # others: everything but the caller
    e = sign_in(server, "frank@example.com")
    assert c.post("/v1/auth/logout", json={"scope": "others"}, headers=bearer(b)).status == 204
    assert c.get("/v1/session", headers=bearer(b)).status == 200
    for t in (d, e):
        assert c.get("/v1/session", headers=bearer(t)).status == 401
        assert c.post("/v1/token/refresh", json={"refresh_token": t["refresh_token"]}).status == 401
    # global: all of them; another user is untouched
    assert c.post("/v1/auth/logout", json={"scope": "global"}, headers=bearer(b)).status == 204
    assert c.get("/v1/session", headers=bearer(b)).status == 401
    assert c.get("/v1/session", headers=bearer(other)).status == 200
    # "others" and "global" each told frank by mail (4 sign-in mails before),
    # with the count and the device that did it; "local" sent nothing.
    msgs = wait_for_mail(server, "frank@example.com", count=6)
    notices = [m for m in msgs if "signed out" in str(m["Subject"])]
    assert len(msgs) == 6 and len(notices) == 2, [str(m["Subject"]) for m in msgs]
    bodies = sorted(m.get_body(preferencelist=("plain",)).get_content() for m in notices)
    assert "Sessions signed out: 1" in bodies[0] and "Sessions signed out: 2" in bodies[1]
    assert all("IP address: 127.0.0.1" in b for b in bodies)
    r = c.post("/v1/auth/logout", json={"scope": "everything"}, headers=bearer(other))
    assert r.status == 422
    # DELETE /v1/me/sessions/{id}: own sessions only
    x = sign_in(server, "grace@example.com")
    assert c.delete(f"/v1/me/sessions/{b['session_id']}", headers=bearer(x)).status == 404
    assert c.delete(f"/v1/me/sessions/{other['session_id']}", headers=bearer(x)).status == 204
    assert c.get("/v1/session", headers=bearer(other)).status == 401
    assert c.get("/v1/session", headers=bearer(x)).status == 200


def test_profile_and_account_deletion(server):
    c = server.client
    t = sign_in(server, "hank@example.com")
    me = c.get("/v1/me", headers=bearer(t)).json()
    assert me["email"] == "hank@example.com" and me["display_name"] is None
    r = c.patch("/v1/me", json={"display_name": "Hank <b>", "locale": "de"}, headers=bearer(t))
    assert r.status == 200 and r.json()["display_name"] == "Hank <b>" and r.json()["locale"] == "de"
    assert c.get("/v1/session", headers=bearer(t)).json()["user"]["display_name"] == "Hank <b>"
    assert c.patch("/v1/me", json={"locale": "xx-nope"}, headers=bearer(t)).status == 422
    assert c.patch("/v1/me", json={"display_name": "a" * 101}, headers=bearer(t)).status == 422
    t2 = sign_in(server, "hank@example.com")
    assert c.delete("/v1/me", headers=bearer(t)).status == 204
    for tok in (t, t2):
        assert c.get("/v1/session", headers=bearer(tok)).status == 401
        assert c.post("/v1/token/refresh", json={"refresh_token": tok["refresh_token"]}).status == 401
    with db(server) as conn:
        for table, col in [("users", "email"), ("email_flows", "email")]:
            assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {col}='hank@example.com'").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    # The address is told, in the account's language; no sign-in mail of
    # the deleted account is left in the queue.
    msgs = wait_for_mail(server, "hank@example.com", count=3)
    assert "Konto wurde gelöscht" in str(msgs[-1]["Subject"]), [str(m["Subject"]) for m in msgs]
    assert "hank@example.com" in msgs[-1].get_body(preferencelist=("plain",)).get_content()
    with db(server) as conn:
        assert conn.execute("SELECT template FROM mail_jobs WHERE to_email='hank@example.com' "
                            "AND status='queued'").fetchall() == []
    # Signing in again creates a fresh account.
    t3 = sign_in(server, "hank@example.com")
    assert t3["user"]["id"] != t["user"]["id"]


def test_tokens_verify_independently_and_forgeries_are_rejected(server):
    c = server.client
    t = sign_in(server, "ivy@example.com")
    token = t["access_token"]
    claims = verify_with_pyjwt(server, token)
    assert set(claims) >= {"iss", "aud", "sub", "sid", "iat", "exp", "jti", "amr"}
    assert claims["exp"] - claims["iat"] == 900
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    h, p, sig = token.split(".")

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    payload = json.loads(base64.urlsafe_b64decode(p + "=="))
    forgeries = {
        "alg_none": b64({"alg": "none", "typ": "JWT"}) + "." + p + ".",
        "wrong_kid": b64({**header, "kid": "not-a-key"}) + "." + p + "." + sig,
        "tampered_payload": h + "." + b64({**payload, "sub": "someone-else"}) + "." + sig,
        "wrong_aud": h + "." + b64({**payload, "aud": "other"}) + "." + sig,
        "hs256_with_public_key": b64({"alg": "HS256", "kid": header["kid"]}) + "." + p + "." + sig,
    }
    for name, forged in forgeries.items():
        r = c.get("/v1/session", headers={"Authorization": "Bearer " + forged})
        assert r.status == 401, name
        with pytest.raises(Exception):
            verify_with_pyjwt(server, forged)
    # A correctly signed token for the wrong audience or issuer is refused too.
    priv = None  # we never have the private key: sign with our own instead
    from cryptography.hazmat.primitives.asymmetric import ec
    priv = ec.generate_private_key(ec.SECP256R1())
    foreign = jwt.encode({**payload, "iss": "http://evil"}, priv, algorithm="ES256",
                         headers={"kid": header["kid"]})
    assert c.get("/v1/session", headers={"Authorization": "Bearer " + foreign}).status == 401


def test_key_rotation_keeps_old_tokens_valid(start_server):
    s = start_server(env={"PA_TOKENS_KEY_RELOAD_INTERVAL": "1"})
    c = s.client
    old = sign_in(s, "jack@example.com")
    old_kid = jwt.get_unverified_header(old["access_token"])["kid"]
    # An OAuth client brings the RS256 ID-token key (issue 16), which the
    # rotation then renews too.
    r = subprocess.run([BINARY, "oauth", "create-client", "--name", "App",
                        "--redirect-uri", "http://127.0.0.1:9/cb"], env=s.env,
                       capture_output=True, text=True, cwd=s.workdir)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([BINARY, "keys", "rotate"], env=s.env, capture_output=True, text=True,
                       cwd=s.workdir)
    assert r.returncode == 0, r.stderr
    new_kid = r.stdout.split()[-1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        keys = c.get("/.well-known/jwks.json").json()["keys"]
        kids = {k["kid"] for k in keys if k["alg"] == "ES256"}
        if new_kid in kids:
            break
        time.sleep(0.1)
    assert kids == {old_kid, new_kid}
    # The RS256 ID-token key (issue 16) rotated with it: old and new verify.
    assert len([k for k in keys if k["alg"] == "RS256"]) == 2
    new = sign_in(s, "jack@example.com")
    assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid
    for t in (old, new):
        verify_with_pyjwt(s, t["access_token"])
        assert c.get("/v1/session", headers=bearer(t)).status == 200


def test_sessions_survive_a_restart(start_server, tmp_path):
    work = tmp_path / "persist"
    s = start_server(workdir=work)
    t = sign_in(s, "kim@example.com")
    assert s.stop() == 0
    s2 = start_server(workdir=work)
    assert s2.client.get("/v1/session", headers=bearer(t)).status == 200
    r = s2.client.post("/v1/token/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status == 200


def test_seed_aliases_are_deprecated_but_work(server):
    c = server.client
    r = c.post("/request/magic", json={"email": "seed@example.com"})
    assert r.status == 202 and r.header("deprecation") == "true"
    _, token, _ = mail_link_and_code(wait_for_mail(server, "seed@example.com")[0])
    page = c.get(f"/verify/magic?token={token}")
    assert page.status == 200 and page.header("deprecation") == "true" and token in page.text
    t = assert_token_response(c.post("/v1/auth/email/link", json={"token": token}))
    r = c.post("/token/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status == 200 and r.header("deprecation") == "true"


def test_auth_metrics_move(server):
    sign_in(server, "m@example.com")
    text = server.client.get("/metrics").text
    assert 'auth_attempts_total{method="otp",status="success"} 1' in text
    assert "sessions_created_total 1" in text
    assert "active_sessions 1" in text
    assert "emails_sent_total 1" in text
