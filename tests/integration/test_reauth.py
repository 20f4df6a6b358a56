"""Issue #11, Medium 3: a stolen access token alone must not take the account
over. Access tokens carry `auth_time`; adding or removing sign-in factors and
deleting the account need a sign-in at most `auth.reauth_max_age` old, and
a sign-in that carries the session's bearer token re-authenticates it.

A stale sign-in is made without sleeping: the test stops the service, moves
the session's stored auth_time an hour back, starts it again and refreshes,
which mints a token for that old sign-in."""
import subprocess
import time

import db_access
import openapi_check
from conftest import BINARY, wait_until
from pa_flows import (bearer, mail_link_and_code, new_mail, outbox_files, sign_in, start,
                      wait_for_mail)
from soft_authenticator import SoftAuthenticator
from test_email_signin import verify_with_pyjwt

GUARDED = [
    ("POST", "/v1/webauthn/register/options", None),
    ("POST", "/v1/webauthn/register/verify", {"challenge_id": "x", "credential": {}}),
    ("POST", "/v1/me/totp", None),
    ("POST", "/v1/me/totp/confirm", {"code": "123456"}),
    ("DELETE", "/v1/me/totp", {"code": "123456"}),
    ("POST", "/v1/me/totp/recovery-codes", {"code": "123456"}),
    ("POST", "/v1/auth/logout", {"scope": "global", "remove_recent_factors_hours": 1}),
    ("DELETE", "/v1/me", None),
]


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def refresh(server, tokens):
    r = server.client.post("/v1/token/refresh",
                           json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200, r
    return r.json()


def code_sign_in(server, addr, headers=None):
    """An email-code sign-in that may carry headers (e.g. a bearer token)."""
    seen = {f.name for f in outbox_files(server)}
    flow = start(server.client, addr)
    _, _, code = mail_link_and_code(new_mail(server, addr, seen))
    r = server.client.post("/v1/auth/email/verify-code", headers=headers or {},
                           json={"flow_id": flow["flow_id"], "code": code})
    assert r.status == 200, r
    return r.json()


def call(server, tokens, method, path, body):
    return server.client.request(method, path, json=body, headers=bearer(tokens))


def stale_session(start_server, tmp_path, addr):
    """Signs in, then makes that sign-in an hour old; returns the server and
    a refreshed token response of the old sign-in."""
    work = tmp_path / "stale"
    s = start_server(workdir=work)
    tokens = sign_in(s, addr)
    first = verify_with_pyjwt(s, tokens["access_token"])
    assert s.stop() == 0
    with db_access.connect(work / "auth.db") as con:
        con.execute("UPDATE sessions SET auth_time = auth_time - 3600")
    s = start_server(workdir=work)
    old = refresh(s, tokens)
    claims = verify_with_pyjwt(s, old["access_token"])
    assert claims["auth_time"] == first["auth_time"] - 3600
    assert old["session_id"] == tokens["session_id"]
    return s, old


def test_access_tokens_carry_auth_time_and_refresh_keeps_it(server):
    before = int(time.time())
    tokens = sign_in(server, "ann@example.org")
    claims = verify_with_pyjwt(server, tokens["access_token"])
    assert isinstance(claims["auth_time"], int)
    assert before <= claims["auth_time"] <= claims["iat"] <= int(time.time())
    again = refresh(server, tokens)
    assert verify_with_pyjwt(server, again["access_token"])["auth_time"] == claims["auth_time"]
    # Fresh enough (the default is 300 s): factor changes just work.
    assert call(server, tokens, "POST", "/v1/me/totp", None).status == 200
    assert call(server, tokens, "POST", "/v1/webauthn/register/options", None).status == 200


def test_a_stale_sign_in_cannot_change_factors_until_the_session_signs_in_again(
        start_server, tmp_path):
    addr = "bob@example.org"
    s, old = stale_session(start_server, tmp_path, addr)
    c = s.client
    for method, path, body in GUARDED:
        r = call(s, old, method, path, body)
        assert r.status == 403, (method, path, r)
        err = r.json()["error"]
        assert err["code"] == "reauthentication_required", (path, err)
        assert err["request_id"] == r.header("x-request-id")
        openapi_check.validate(r.json(), "ReauthForbiddenError")
    # Nothing happened: the account, its session and no TOTP are still there.
    assert call(s, old, "GET", "/v1/me", None).status == 200
    with db(s) as con:
        assert con.execute("SELECT COUNT(*) FROM totp").fetchone()[0] == 0
    # Signing in again with the bearer token re-authenticates this session:
    # same session id, a new auth_time, no second session.
    fresh = code_sign_in(s, addr, headers=bearer(old))
    assert fresh["session_id"] == old["session_id"]
    claims = verify_with_pyjwt(s, fresh["access_token"])
    old_claims = verify_with_pyjwt(s, old["access_token"])
    assert claims["sid"] == old_claims["sid"]
    assert claims["auth_time"] >= old_claims["iat"] > old_claims["auth_time"]
    assert claims["amr"] == ["otp"]
    sessions = call(s, fresh, "GET", "/v1/me/sessions", None).json()["sessions"]
    assert [x["id"] for x in sessions] == [old["session_id"]]
    # Now the guarded routes work, and a refresh keeps the new auth_time.
    assert call(s, fresh, "POST", "/v1/me/totp", None).status == 200
    opts = call(s, fresh, "POST", "/v1/webauthn/register/options", None)
    assert opts.status == 200
    cred_json, _ = SoftAuthenticator().create(opts.json()["public_key"])
    r = call(s, fresh, "POST", "/v1/webauthn/register/verify",
             {"challenge_id": opts.json()["challenge_id"], "credential": cred_json})
    assert r.status == 201, r
    later = refresh(s, fresh)
    assert verify_with_pyjwt(s, later["access_token"])["auth_time"] == claims["auth_time"]
    # Signing out this device needs no recent sign-in.
    assert call(s, old, "POST", "/v1/auth/logout", {"scope": "local"}).status == 204


def test_a_bearer_token_of_another_user_does_not_join_their_session(server):
    ann = sign_in(server, "ann@example.org")
    bob = code_sign_in(server, "bob@example.org", headers=bearer(ann))
    assert bob["user"]["email"] == "bob@example.org"
    assert bob["session_id"] != ann["session_id"]
    # Ann's session is untouched.
    assert call(server, ann, "GET", "/v1/session", None).status == 200


def test_reauth_max_age_is_validated(tmp_path):
    env = {"PA_DATABASE_PATH": str(tmp_path / "a.db"),
           "PA_AUTH_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789"}
    r = subprocess.run([BINARY, "check-config"], env={**env, "PA_AUTH_REAUTH_MAX_AGE": "60"},
                       capture_output=True, text=True)
    assert r.returncode == 0 and "reauth_max_age = 60" in r.stdout, r.stderr
    for bad in ["-1", "soon", "99999999"]:
        r = subprocess.run([BINARY, "check-config"], env={**env, "PA_AUTH_REAUTH_MAX_AGE": bad},
                           capture_output=True, text=True)
        assert r.returncode == 2 and "auth.reauth_max_age" in r.stderr, (bad, r.stderr)


def test_global_logout_can_remove_factors_added_recently(server):
    c = server.client
    addr = "cat@example.org"
    tokens = sign_in(server, addr)
    authn = SoftAuthenticator()
    ids = []
    for _ in range(2):
        opts = call(server, tokens, "POST", "/v1/webauthn/register/options", None).json()
        cred_json, cred = authn.create(opts["public_key"])
        assert call(server, tokens, "POST", "/v1/webauthn/register/verify",
                    {"challenge_id": opts["challenge_id"],
                     "credential": cred_json}).status == 201
        ids.append(cred.id_b64)
    # The first passkey is old (added two days ago); the second is recent.
    with db(server) as con:
        con.execute("UPDATE webauthn_credentials SET created_at = created_at - 172800 "
                    "WHERE id = ?", (ids[0],))
    from test_totp import confirm, enrol
    confirm(server, tokens, enrol(server, tokens)["secret"])
    # The sign-in mail and three notices (two passkeys, TOTP) first, so the
    # next sign-in reads its own mail.
    wait_for_mail(server, addr, count=4)
    other = sign_in(server, addr)
    for bad in [{"scope": "local", "remove_recent_factors_hours": 1},
                {"scope": "global", "remove_recent_factors_hours": 0},
                {"scope": "global", "remove_recent_factors_hours": "1"},
                {"scope": "global", "remove_recent_factors_hours": 100000}]:
        r = call(server, tokens, "POST", "/v1/auth/logout", bad)
        assert r.status == 422, (bad, r)
        assert "remove_recent_factors_hours" in r.json()["error"]["details"]
    r = call(server, tokens, "POST", "/v1/auth/logout",
             {"scope": "global", "remove_recent_factors_hours": 24})
    assert r.status == 204, r
    with db(server) as con:
        left = [row[0] for row in con.execute("SELECT id FROM webauthn_credentials")]
        assert left == [ids[0]]
        assert con.execute("SELECT COUNT(*) FROM totp").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM recovery_codes").fetchone()[0] == 0
    for t in (tokens, other):
        assert call(server, t, "GET", "/v1/session", None).status == 401
    # The "sessions signed out" notice first (mail 6, after `other`'s
    # sign-in mail), so the next sign-in reads its own mail, not the notice.
    wait_for_mail(server, addr, count=6)
    # Without the field, a global logout removes nothing.
    again = sign_in(server, addr)
    assert call(server, again, "POST", "/v1/auth/logout", {"scope": "global"}).status == 204
    with db(server) as con:
        assert con.execute("SELECT COUNT(*) FROM webauthn_credentials").fetchone()[0] == 1


def test_a_reauthentication_keeps_the_successor_only_for_the_grace_window(start_server):
    """Re-authenticating rotates the refresh token like a refresh does, so
    its sealed successor (the live refresh token) must also be erased when
    the grace window ends (review #11, Medium 5)."""
    s = start_server(env={"PA_TOKENS_REFRESH_GRACE": "1"})
    t0 = code_sign_in(s, "rhoda@example.org")
    again = code_sign_in(s, "rhoda@example.org", headers=bearer(t0))
    assert again["session_id"] == t0["session_id"]
    conn = db(s)

    def kept():
        return conn.execute(
            "SELECT COUNT(*) FROM refresh_tokens WHERE replaced_at IS NOT NULL "
            "AND successor_enc IS NOT NULL AND length(successor_enc) > 0").fetchone()[0]

    assert conn.execute("SELECT COUNT(*) FROM refresh_tokens WHERE replaced_at IS NOT NULL"
                        ).fetchone()[0] == 1
    wait_until(lambda: kept() == 0, timeout=10, what="the successor to be erased")
    # The new refresh token works; the old one is a reuse past the window.
    assert refresh(s, again)["session_id"] == t0["session_id"]


def test_without_a_grace_window_a_reauthentication_stores_no_successor(start_server):
    s = start_server(env={"PA_TOKENS_REFRESH_GRACE": "0"})
    t0 = code_sign_in(s, "rona@example.org")
    again = code_sign_in(s, "rona@example.org", headers=bearer(t0))
    assert again["session_id"] == t0["session_id"]
    row = db(s).execute("SELECT successor_enc FROM refresh_tokens "
                        "WHERE replaced_at IS NOT NULL").fetchone()
    assert row == (None,)
