"""The OpenID Provider (issue 16) over real HTTP: discovery, client
registration through the admin API, the authorization endpoint driven with a
real browser-session cookie (a hosted-page sign-in), the code exchange with
client_secret_basic, client_secret_post and PKCE for a public client, ID
tokens checked independently by PyJWT against our JWKS (RS256), userinfo,
refresh with rotation, revocation (RFC 7009), RP-initiated logout, the
consent page for third-party clients, and the negative cases RFC 6749 and
OIDC Core name: wrong redirect URI, missing PKCE, wrong verifier, code
replay (which revokes what the code issued), another client's code, an
expired code, prompt=none without a session, a bad client secret, a
cross-site consent post.

The service keeps its default public_url (http://localhost:3000): that is
the issuer, and a page of our own origin sends `Origin: http://localhost:3000`."""
import base64
import hashlib
import secrets
import time
import urllib.parse

import jwt
import pytest

import db_access
from test_browser_session import ADMIN, COOKIE, ORIGIN, browser_sign_in, with_cookie

ISSUER = ORIGIN
CB = "http://127.0.0.1:9/cb"
PUBLIC_CB = "http://localhost:9/public-cb"


def adm():
    return {"Authorization": "Bearer " + ADMIN}


@pytest.fixture
def op(start_server):
    return start_server(env={"PA_ADMIN_API_KEY": ADMIN})


def create_client(server, **body):
    body.setdefault("name", "Test app")
    body.setdefault("redirect_uris", [CB])
    body.setdefault("type", "confidential")
    r = server.client.post("/v1/admin/oauth/clients", json=body, headers=adm())
    assert r.status == 201, r
    assert r.header("cache-control") == "no-store"
    return r.json()


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(client_id, redirect_uri=CB, **extra):
    q = {"response_type": "code", "client_id": client_id,
         "redirect_uri": redirect_uri, "scope": "openid email profile",
         "state": "st-" + secrets.token_hex(4), "nonce": "n-" + secrets.token_hex(4)}
    q.update(extra)
    q = {k: v for k, v in q.items() if v is not None}
    return "/oauth2/authorize?" + urllib.parse.urlencode(q), q


def query_of(location):
    u = urllib.parse.urlparse(location)
    return u, dict(urllib.parse.parse_qsl(u.query))


def authorize(server, cookie, client_id, redirect_uri=CB, **extra):
    """Runs the authorization request with the browser cookie; returns
    (response, its Location's query, the request's parameters)."""
    path, q = authorize_url(client_id, redirect_uri, **extra)
    h = with_cookie(cookie) if cookie else {}
    r = server.client.get(path, headers=h)
    loc = r.header("location")
    return r, (query_of(loc)[1] if loc else None), q


def basic(client):
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token(server, form, headers=None):
    return server.client.post("/oauth2/token", form=form, headers=headers or {})


def exchange(server, client, code, redirect_uri=CB, **extra):
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": redirect_uri, **extra}
    if client.get("client_secret"):
        return token(server, form, basic(client))
    return token(server, {**form, "client_id": client["client_id"]})


def verify_id_token(server, id_token, client_id):
    """Independent check: PyJWT with the keys of our JWKS (PyJWKClient)."""
    jwks = jwt.PyJWKClient(server.base + "/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(id_token)
    return jwt.decode(id_token, key.key, algorithms=["RS256", "ES256"],
                      audience=client_id, issuer=ISSUER)


def at_hash(access_token):
    d = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode()


def oauth_error(r, status, error):
    assert r.status == status, r
    body = r.json()
    assert body["error"] == error, body
    assert "error_description" in body
    assert r.header("cache-control") == "no-store"


def signed_in(server, addr="rp-user@example.com"):
    _, cookie, _ = browser_sign_in(server, addr)
    return cookie


# -- discovery and JWKS -------------------------------------------------------

def test_discovery_document_names_every_endpoint(op):
    r = op.client.get("/.well-known/openid-configuration")
    assert r.status == 200
    d = r.json()
    assert d["issuer"] == ISSUER
    for name, path in [("authorization_endpoint", "/oauth2/authorize"),
                       ("token_endpoint", "/oauth2/token"),
                       ("userinfo_endpoint", "/oauth2/userinfo"),
                       ("jwks_uri", "/.well-known/jwks.json"),
                       ("revocation_endpoint", "/oauth2/revoke"),
                       ("end_session_endpoint", "/oauth2/logout")]:
        assert d[name] == ISSUER + path
    assert d["response_types_supported"] == ["code"]
    assert d["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in d["id_token_signing_alg_values_supported"]
    assert "ES256" in d["id_token_signing_alg_values_supported"]
    assert d["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "none"]
    assert d["scopes_supported"] == ["openid", "email", "profile", "offline_access"]
    for c in ["sub", "email", "email_verified", "name", "auth_time", "nonce", "amr"]:
        assert c in d["claims_supported"]


def test_jwks_publishes_an_rs256_key_beside_the_es256_one_and_rotation_covers_both(op):
    # The RS256 key comes with the first client (see the lazy-key test).
    create_client(op, first_party=True)
    keys = op.client.get("/.well-known/jwks.json").json()["keys"]
    algs = sorted(k["alg"] for k in keys)
    assert algs == ["ES256", "RS256"]
    r = op.client.post("/v1/admin/keys/rotate", headers=adm())
    assert r.status == 200, r
    after = op.client.get("/.well-known/jwks.json").json()["keys"]
    # The old pair keeps verifying until its tokens expired; a new pair signs.
    assert sorted(k["alg"] for k in after) == ["ES256", "ES256", "RS256", "RS256"]
    db = db_access.connect(op.workdir / "auth.db")
    live = db.execute("SELECT alg FROM signing_keys WHERE retired_at IS NULL "
                      "ORDER BY alg").fetchall()
    assert live == [("ES256",), ("RS256",)]


def test_the_rs256_key_is_made_with_the_first_client_not_at_every_start(start_server, tmp_path):
    """Generating RSA-2048 costs ~100 ms: a service without OAuth clients
    never pays it. The first client brings the key (before the 201), the
    JWKS publishes it, ID tokens verify with it, and a restart loads it."""
    def algs(server):
        return sorted(k["alg"] for k in
                      server.client.get("/.well-known/jwks.json").json()["keys"])

    def stored_rs256(workdir):
        db = db_access.connect(workdir / "auth.db")
        return db.execute("SELECT kid FROM signing_keys WHERE alg = 'RS256'").fetchall()

    work = tmp_path / "lazy"
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN}, workdir=work)
    assert algs(s) == ["ES256"]
    assert stored_rs256(work) == []
    # A rotation without clients renews only the key in use.
    assert s.client.post("/v1/admin/keys/rotate", headers=adm()).status == 200
    assert algs(s) == ["ES256", "ES256"] and stored_rs256(work) == []
    c = create_client(s, first_party=True)
    assert algs(s) == ["ES256", "ES256", "RS256"]
    (kid,), = stored_rs256(work)
    cookie = signed_in(s)
    _, q, _ = authorize(s, cookie, c["client_id"])
    t = exchange(s, c, q["code"])
    assert t.status == 200, t
    assert jwt.get_unverified_header(t.json()["id_token"]) == {
        "alg": "RS256", "typ": "JWT", "kid": kid}
    verify_id_token(s, t.json()["id_token"], c["client_id"])
    # A second client makes no second key; a restart loads the one there is.
    create_client(s, first_party=True, name="Second")
    assert len(stored_rs256(work)) == 1
    s.stop()
    s2 = start_server(env={"PA_ADMIN_API_KEY": ADMIN}, workdir=work)
    assert algs(s2) == ["ES256", "ES256", "RS256"]
    assert stored_rs256(work) == [(kid,)]
    assert not [e for e in s2.events("signing-key-created")]


def test_a_client_registered_by_the_cli_brings_the_rs256_key_too(start_server, tmp_path):
    import subprocess
    from conftest import BINARY
    work = tmp_path / "cli"
    s = start_server(workdir=work)
    env = s.env
    s.stop()
    r = subprocess.run([BINARY, "oauth", "create-client", "--name", "CLI app",
                        "--redirect-uri", CB], env=env, cwd=work,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    db = db_access.connect(work / "auth.db")
    assert len(db.execute("SELECT kid FROM signing_keys WHERE alg = 'RS256' "
                          "AND retired_at IS NULL").fetchall()) == 1
    s2 = start_server(workdir=work)
    keys = s2.client.get("/.well-known/jwks.json").json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256"]


# -- clients ------------------------------------------------------------------

def test_client_admin_routes_create_list_patch_delete_and_never_show_the_secret_again(op):
    c = create_client(op, post_logout_redirect_uris=["https://app.example/bye"])
    assert c["client_id"].startswith("pa_") and len(c["client_secret"]) >= 43
    assert c["type"] == "confidential" and c["first_party"] is False
    assert c["id_token_signed_response_alg"] == "RS256"
    p = create_client(op, type="public", redirect_uris=[PUBLIC_CB])
    assert "client_secret" not in p
    got = op.client.get(f"/v1/admin/oauth/clients/{c['client_id']}", headers=adm())
    assert got.status == 200 and "client_secret" not in got.json()
    assert "secret" not in got.text.lower().replace("client_secret_basic", "")
    # The stored form is a hash, never the secret.
    db = db_access.connect(op.workdir / "auth.db")
    stored = db.execute("SELECT secret_hash FROM oauth_clients WHERE id = ?",
                        (c["client_id"],)).fetchone()[0]
    assert stored and c["client_secret"] not in stored
    # The list pages with a cursor, newest first (ties of the second by id).
    page = op.client.get("/v1/admin/oauth/clients?limit=1", headers=adm()).json()
    assert len(page["clients"]) == 1 and page["next_cursor"]
    page2 = op.client.get("/v1/admin/oauth/clients?limit=1&cursor=" + page["next_cursor"],
                          headers=adm()).json()
    assert len(page2["clients"]) == 1 and page2["next_cursor"] is None
    seen = [x["client_id"] for x in page["clients"] + page2["clients"]]
    assert sorted(seen) == sorted([c["client_id"], p["client_id"]])
    whole = op.client.get("/v1/admin/oauth/clients", headers=adm()).json()["clients"]
    assert [x["client_id"] for x in whole] == seen
    bad = op.client.get("/v1/admin/oauth/clients?cursor=!!", headers=adm())
    assert bad.status == 422
    r = op.client.patch(f"/v1/admin/oauth/clients/{c['client_id']}",
                        json={"first_party": True, "name": "Renamed"}, headers=adm())
    assert r.status == 200 and r.json()["first_party"] is True and r.json()["name"] == "Renamed"
    r = op.client.patch(f"/v1/admin/oauth/clients/{c['client_id']}",
                        json={"redirect_uris": ["javascript:alert(1)"]}, headers=adm())
    assert r.status == 422 and "redirect_uris" in r.json()["error"]["details"]
    assert op.client.delete(f"/v1/admin/oauth/clients/{c['client_id']}",
                            headers=adm()).status == 204
    assert op.client.get(f"/v1/admin/oauth/clients/{c['client_id']}",
                         headers=adm()).status == 404
    assert op.client.delete(f"/v1/admin/oauth/clients/{c['client_id']}",
                            headers=adm()).status == 404
    # Without an admin key: nothing.
    assert op.client.get("/v1/admin/oauth/clients").status == 401


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "type": "confidential"}, "redirect_uris"),
    ({"name": "x", "type": "weird", "redirect_uris": [CB]}, "type"),
    ({"name": "x", "type": "public", "redirect_uris": ["http://app.example/cb"]}, "redirect_uris"),
    ({"name": "x", "type": "public", "redirect_uris": ["https://app.example/cb#frag"]}, "redirect_uris"),
    ({"name": "", "type": "public", "redirect_uris": [CB]}, "name"),
    ({"name": "x", "type": "public", "redirect_uris": [CB], "first_party": "yes"}, "first_party"),
    ({"name": "x", "type": "public", "redirect_uris": [CB],
      "id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
])
def test_bad_client_registrations_are_refused_with_the_field(op, body, field):
    r = op.client.post("/v1/admin/oauth/clients", json=body, headers=adm())
    assert r.status == 422, r
    assert field in r.json()["error"]["details"]


# -- the flow -----------------------------------------------------------------

def test_confidential_client_full_flow_with_independent_id_token_check(op):
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    r, q, req = authorize(op, cookie, c["client_id"],
                          scope="openid email profile offline_access")
    assert r.status == 302, r
    loc = urllib.parse.urlparse(r.header("location"))
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == CB
    assert q["state"] == req["state"] and q["iss"] == ISSUER and q["code"]
    t = exchange(op, c, q["code"])
    assert t.status == 200, t
    assert t.header("cache-control") == "no-store"
    body = t.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["scope"] == "email offline_access openid profile"
    assert set(body) == {"access_token", "id_token", "refresh_token", "token_type",
                         "expires_in", "scope"}
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    claims = verify_id_token(op, body["id_token"], c["client_id"])
    assert claims["nonce"] == req["nonce"]
    assert claims["email"] == "rp-user@example.com" and claims["email_verified"] is True
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["amr"] == ["otp"]
    assert abs(claims["auth_time"] - time.time()) < 60
    # The access token is ours (ES256), for this client.
    jwks = jwt.PyJWKClient(op.base + "/.well-known/jwks.json")
    at = jwt.decode(body["access_token"],
                    jwks.get_signing_key_from_jwt(body["access_token"]).key,
                    algorithms=["ES256"], audience=c["client_id"], issuer=ISSUER)
    assert at["sub"] == claims["sub"]
    # userinfo, GET and POST.
    auth = {"Authorization": "Bearer " + body["access_token"]}
    u = op.client.get("/oauth2/userinfo", headers=auth)
    assert u.status == 200, u
    assert u.json() == {"sub": claims["sub"], "email": "rp-user@example.com",
                        "email_verified": True}
    assert op.client.post("/oauth2/userinfo", headers=auth).status == 200
    # The client's token is not a key to the account API.
    assert op.client.get("/v1/me", headers=auth).status == 401
    # Refresh rotates; the new ID token is checked again.
    r2 = token(op, {"grant_type": "refresh_token",
                    "refresh_token": body["refresh_token"]}, basic(c))
    assert r2.status == 200, r2
    b2 = r2.json()
    assert b2["refresh_token"] != body["refresh_token"]
    c2 = verify_id_token(op, b2["id_token"], c["client_id"])
    assert c2["sub"] == claims["sub"] and c2["auth_time"] == claims["auth_time"]
    # Revocation (RFC 7009) ends the session: tokens stop working.
    rv = op.client.post("/oauth2/revoke", form={"token": b2["refresh_token"]},
                        headers=basic(c))
    assert rv.status == 200, rv
    assert op.client.get("/oauth2/userinfo", headers={
        "Authorization": "Bearer " + b2["access_token"]}).status == 401
    r3 = token(op, {"grant_type": "refresh_token",
                    "refresh_token": b2["refresh_token"]}, basic(c))
    oauth_error(r3, 400, "invalid_grant")
    # An unknown token is no error (RFC 7009 §2.2).
    assert op.client.post("/oauth2/revoke", form={"token": "x" * 43},
                          headers=basic(c)).status == 200
    audit = op.client.get("/v1/admin/audit?limit=200", headers=adm()).json()["events"]
    types = {e["type"] for e in audit}
    assert {"oauth.client_created", "oauth.authorized", "oauth.token_issued",
            "oauth.token_revoked"} <= types


def test_client_secret_post_and_no_refresh_token_without_offline_access(op):
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"])
    t = token(op, {"grant_type": "authorization_code", "code": q["code"],
                   "redirect_uri": CB, "client_id": c["client_id"],
                   "client_secret": c["client_secret"]})
    assert t.status == 200, t
    assert "refresh_token" not in t.json()
    verify_id_token(op, t.json()["id_token"], c["client_id"])


def test_public_client_needs_pkce_and_the_right_verifier(op):
    p = create_client(op, type="public", redirect_uris=[PUBLIC_CB], first_party=True)
    cookie = signed_in(op)
    # Without PKCE: the error goes back to the (valid) redirect URI.
    r, q, req = authorize(op, cookie, p["client_id"], PUBLIC_CB)
    assert r.status == 302 and q["error"] == "invalid_request", r
    assert q["state"] == req["state"] and q["iss"] == ISSUER and "code" not in q
    # A plain challenge is refused too.
    _, q, _ = authorize(op, cookie, p["client_id"], PUBLIC_CB,
                        code_challenge="abc", code_challenge_method="plain")
    assert q["error"] == "invalid_request"
    verifier, challenge = pkce()
    _, q, _ = authorize(op, cookie, p["client_id"], PUBLIC_CB,
                        code_challenge=challenge, code_challenge_method="S256")
    # A wrong verifier loses the code.
    bad = exchange(op, p, q["code"], PUBLIC_CB, code_verifier=pkce()[0])
    oauth_error(bad, 400, "invalid_grant")
    _, q, _ = authorize(op, cookie, p["client_id"], PUBLIC_CB,
                        code_challenge=challenge, code_challenge_method="S256")
    missing = exchange(op, p, q["code"], PUBLIC_CB)
    oauth_error(missing, 400, "invalid_grant")
    _, q, _ = authorize(op, cookie, p["client_id"], PUBLIC_CB,
                        code_challenge=challenge, code_challenge_method="S256")
    good = exchange(op, p, q["code"], PUBLIC_CB, code_verifier=verifier)
    assert good.status == 200, good
    verify_id_token(op, good.json()["id_token"], p["client_id"])
    # A public client presenting a secret is no public client.
    _, q, _ = authorize(op, cookie, p["client_id"], PUBLIC_CB,
                        code_challenge=challenge, code_challenge_method="S256")
    r = token(op, {"grant_type": "authorization_code", "code": q["code"],
                   "redirect_uri": PUBLIC_CB, "client_id": p["client_id"],
                   "client_secret": "guess", "code_verifier": verifier})
    oauth_error(r, 401, "invalid_client")


def test_code_replay_fails_and_revokes_what_the_code_issued(op):
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"], scope="openid offline_access")
    first = exchange(op, c, q["code"])
    assert first.status == 200
    access = first.json()["access_token"]
    auth = {"Authorization": "Bearer " + access}
    assert op.client.get("/oauth2/userinfo", headers=auth).status == 200
    again = exchange(op, c, q["code"])
    oauth_error(again, 400, "invalid_grant")
    # What the first exchange issued is revoked.
    assert op.client.get("/oauth2/userinfo", headers=auth).status == 401
    r = token(op, {"grant_type": "refresh_token",
                   "refresh_token": first.json()["refresh_token"]}, basic(c))
    oauth_error(r, 400, "invalid_grant")
    audit = op.client.get("/v1/admin/audit?type=oauth.code_replayed",
                          headers=adm()).json()["events"]
    assert audit and audit[0]["success"] is False


def test_code_of_another_client_wrong_redirect_and_expired_code(op):
    a = create_client(op, first_party=True)
    b = create_client(op, first_party=True, name="Other")
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, a["client_id"])
    oauth_error(exchange(op, b, q["code"]), 400, "invalid_grant")
    _, q, _ = authorize(op, cookie, a["client_id"])
    oauth_error(exchange(op, a, q["code"], "http://127.0.0.1:9/other"), 400,
                "invalid_grant")
    # An expired code (its 60 s moved into the past in the real database).
    _, q, _ = authorize(op, cookie, a["client_id"])
    db = db_access.connect(op.workdir / "auth.db", isolation_level=None)
    h = hashlib.sha256(q["code"].encode()).hexdigest()
    n = db.execute("UPDATE oauth_codes SET expires_at = expires_at - 61 "
                   "WHERE code_hash = ?", (h,)).rowcount
    assert n == 1
    oauth_error(exchange(op, a, q["code"]), 400, "invalid_grant")


def test_bad_client_credentials_are_invalid_client(op):
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"])
    wrong = dict(c, client_secret="not-the-secret")
    r = exchange(op, wrong, q["code"])
    oauth_error(r, 401, "invalid_client")
    assert r.header("www-authenticate").startswith("Basic")
    # The failed attempt did not use the code up.
    assert exchange(op, c, q["code"]).status == 200
    oauth_error(token(op, {"grant_type": "authorization_code", "code": "x",
                           "redirect_uri": CB}), 401, "invalid_client")
    oauth_error(token(op, {"grant_type": "password", "client_id": c["client_id"]}),
                400, "unsupported_grant_type")
    r = op.client.post("/oauth2/token", json={"grant_type": "authorization_code"})
    oauth_error(r, 400, "invalid_request")


def test_authorization_errors_redirect_only_to_a_registered_uri(op):
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    # Unregistered redirect URI: an error page, never a redirect.
    r, _, _ = authorize(op, cookie, c["client_id"], "https://evil.example/cb")
    assert r.status == 400 and not r.header("location")
    assert "text/html" in r.header("content-type")
    r, _, _ = authorize(op, cookie, "pa_unknown")
    assert r.status == 400 and not r.header("location")
    # Valid client and URI: errors go back with state and iss.
    r, q, req = authorize(op, cookie, c["client_id"], scope="email")
    assert r.status == 302 and q["error"] == "invalid_scope" and q["state"] == req["state"]
    r, q, _ = authorize(op, cookie, c["client_id"], response_type="token")
    assert q["error"] == "unsupported_response_type"
    r = op.client.get(authorize_url(c["client_id"])[0] + "&state=twice",
                      headers=with_cookie(cookie))
    assert query_of(r.header("location"))[1]["error"] == "invalid_request"


def test_without_a_session_prompt_none_is_login_required_else_the_sign_in_page(op):
    c = create_client(op, first_party=True)
    r, q, req = authorize(op, None, c["client_id"], prompt="none")
    assert r.status == 302 and q["error"] == "login_required" and q["state"] == req["state"]
    path, _ = authorize_url(c["client_id"])
    r = op.client.get(path)
    assert r.status == 302
    u, lq = query_of(r.header("location"))
    assert u.path == "/login" and lq["return_to"] == path
    # prompt=login with a session: back to sign-in, and the way back does
    # not ask again.
    cookie = signed_in(op)
    r, _, _ = authorize(op, cookie, c["client_id"], prompt="login")
    u, lq = query_of(r.header("location"))
    assert u.path == "/login" and "prompt=" not in lq["return_to"]
    assert "max_age=" in lq["return_to"]
    # max_age=0 (like prompt=login) is never met by an earlier sign-in.
    r, q, _ = authorize(op, cookie, c["client_id"], max_age="0", prompt="none")
    assert q["error"] == "login_required"
    r, _, _ = authorize(op, cookie, c["client_id"], max_age="0")
    u, lq = query_of(r.header("location"))
    assert u.path == "/login" and "max_age=300" in lq["return_to"]
    assert "max_age=0" not in lq["return_to"]
    # A generous max_age is met by this fresh sign-in.
    r, q, _ = authorize(op, cookie, c["client_id"], max_age="3600")
    assert r.status == 302 and q["code"]


def test_third_party_clients_get_a_consent_page_once_per_scope_set(op):
    c = create_client(op)  # not first party
    cookie = signed_in(op)
    path, req = authorize_url(c["client_id"])
    r = op.client.get(path, headers=with_cookie(cookie))
    assert r.status == 200 and "text/html" in r.header("content-type"), r
    page = r.text
    assert 'action="/oauth2/authorize/consent"' in page and "Test app" in page
    # The post ends (after a 303) at the client: its origin is a form-action.
    assert "form-action 'self' http://127.0.0.1:9;" in r.header("content-security-policy")
    import re
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "request": path.split("?", 1)[1], "decision": "allow"}
    # A cross-site post changes nothing.
    evil = op.client.post("/oauth2/authorize/consent", form=form,
                          headers=with_cookie(cookie, Origin="https://evil.example"))
    assert evil.status == 403 and not evil.header("location")
    db = db_access.connect(op.workdir / "auth.db", isolation_level=None)
    assert db.execute("SELECT COUNT(*) FROM oauth_consents").fetchone()[0] == 0
    # A wrong CSRF token neither.
    bad = op.client.post("/oauth2/authorize/consent", form=dict(form, csrf_token="x"),
                         headers=with_cookie(cookie, Origin=ORIGIN))
    assert bad.status == 403
    ok = op.client.post("/oauth2/authorize/consent", form=form,
                        headers=with_cookie(cookie, Origin=ORIGIN))
    assert ok.status == 303, ok
    q = query_of(ok.header("location"))[1]
    assert q["state"] == req["state"] and q["code"]
    assert exchange(op, c, q["code"]).status == 200
    # The same scope set again: no page.
    r, q, _ = authorize(op, cookie, c["client_id"])
    assert r.status == 302 and q["code"]
    # A wider one: the page again; prompt=none then says consent_required.
    r, q, _ = authorize(op, cookie, c["client_id"], scope="openid email profile offline_access",
                        prompt="none")
    assert q["error"] == "consent_required"
    # Deny: access_denied back to the client.
    path, _ = authorize_url(c["client_id"], scope="openid offline_access")
    deny = op.client.post("/oauth2/authorize/consent",
                          form=dict(form, request=path.split("?", 1)[1], decision="deny"),
                          headers=with_cookie(cookie, Origin=ORIGIN))
    assert deny.status == 303 and query_of(deny.header("location"))[1]["error"] == "access_denied"


def test_rp_initiated_logout_ends_both_sessions_and_returns_to_the_registered_uri(op):
    c = create_client(op, first_party=True,
                      post_logout_redirect_uris=["https://app.example/bye"])
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"])
    body = exchange(op, c, q["code"]).json()
    auth = {"Authorization": "Bearer " + body["access_token"]}
    # An unregistered target: no redirect.
    r = op.client.get("/oauth2/logout?" + urllib.parse.urlencode({
        "id_token_hint": body["id_token"],
        "post_logout_redirect_uri": "https://evil.example/"}), headers=with_cookie(cookie))
    assert r.status == 400 and not r.header("location")
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"])
    body = exchange(op, c, q["code"]).json()
    auth = {"Authorization": "Bearer " + body["access_token"]}
    r = op.client.get("/oauth2/logout?" + urllib.parse.urlencode({
        "id_token_hint": body["id_token"], "state": "bye-state",
        "post_logout_redirect_uri": "https://app.example/bye"}),
        headers=with_cookie(cookie))
    assert r.status == 302, r
    assert r.header("location") == "https://app.example/bye?state=bye-state"
    # Audited, with the client's session ended by the logout itself (the
    # first, refused target ended one too).
    ev = op.client.get("/v1/admin/audit?type=oauth.logout", headers=adm()).json()["events"]
    assert [(e["metadata"]["client_id"], e["metadata"]["client_session_ended"])
            for e in ev] == [(c["client_id"], True)] * 2
    assert COOKIE in r.header("set-cookie") and "Max-Age=0" in r.header("set-cookie")
    assert op.client.get("/oauth2/userinfo", headers=auth).status == 401
    r, q, _ = authorize(op, cookie, c["client_id"], prompt="none")
    assert q["error"] == "login_required"
    # Without a hint (any page can make this GET) nothing ends.
    cookie = signed_in(op)
    r = op.client.get("/oauth2/logout?client_id=" + c["client_id"], headers=with_cookie(cookie))
    assert r.status == 400 and not r.header("set-cookie")
    r, q, _ = authorize(op, cookie, c["client_id"], prompt="none")
    assert q["code"]
    # A forged hint is refused.
    forged = body["id_token"][:-4] + ("AAAA" if not body["id_token"].endswith("AAAA") else "BBBB")
    r = op.client.get("/oauth2/logout?id_token_hint=" + forged)
    assert r.status == 400


def test_cli_create_client_registers_a_working_client(op):
    import json
    import subprocess
    from conftest import BINARY
    r = subprocess.run([BINARY, "oauth", "create-client", "--name", "CLI app",
                        "--redirect-uri", CB, "--first-party"],
                       env=op.env, cwd=op.workdir, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert c["type"] == "confidential" and c["first_party"] is True and c["client_secret"]
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"])
    t = exchange(op, c, q["code"])
    assert t.status == 200, t
    # The CLI stored the RS256 key; the running service reads it before the
    # client's first session (not only at its next key reload, 30 s away).
    assert jwt.get_unverified_header(t.json()["id_token"])["alg"] == "RS256"
    verify_id_token(op, t.json()["id_token"], c["client_id"])
    bad = subprocess.run([BINARY, "oauth", "create-client", "--name", "x",
                          "--redirect-uri", "http://app.example/cb"],
                         env=op.env, cwd=op.workdir, capture_output=True, text=True)
    assert bad.returncode == 1 and "redirect_uris" in bad.stderr


def test_a_disabled_client_is_refused_everywhere(op):
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    _, q, _ = authorize(op, cookie, c["client_id"])
    r = op.client.patch(f"/v1/admin/oauth/clients/{c['client_id']}",
                        json={"disabled": True}, headers=adm())
    assert r.status == 200 and r.json()["disabled"] is True
    oauth_error(exchange(op, c, q["code"]), 401, "invalid_client")
    r, _, _ = authorize(op, cookie, c["client_id"])
    assert r.status == 400 and not r.header("location")


def test_pkce_of_a_confidential_client_binds_the_code_both_ways(op):
    """PKCE is optional for a confidential client, but once used it binds:
    a missing or wrong verifier loses the code, and a verifier for a code
    asked without a challenge (a downgrade, RFC 9700 §2.1.1) is refused."""
    c = create_client(op, first_party=True)
    cookie = signed_in(op)
    verifier, challenge = pkce()
    _, q, _ = authorize(op, cookie, c["client_id"], code_challenge=challenge,
                        code_challenge_method="S256")
    oauth_error(exchange(op, c, q["code"]), 400, "invalid_grant")
    _, q, _ = authorize(op, cookie, c["client_id"], code_challenge=challenge,
                        code_challenge_method="S256")
    oauth_error(exchange(op, c, q["code"], code_verifier=pkce()[0]), 400, "invalid_grant")
    _, q, _ = authorize(op, cookie, c["client_id"])
    r = exchange(op, c, q["code"], code_verifier=verifier)
    oauth_error(r, 400, "invalid_grant")
    assert "code_challenge" in r.json()["error_description"]
    _, q, _ = authorize(op, cookie, c["client_id"], code_challenge=challenge,
                        code_challenge_method="S256")
    assert exchange(op, c, q["code"], code_verifier=verifier).status == 200


def test_a_cross_site_consent_post_without_origin_is_refused_by_sec_fetch_site(op):
    """Browsers that send no Origin on a form post still send
    Sec-Fetch-Site: a cross-site one grants nothing, even with the right
    CSRF token."""
    import re
    c = create_client(op)  # not first party: the consent page
    cookie = signed_in(op)
    path, req = authorize_url(c["client_id"])
    page = op.client.get(path, headers=with_cookie(cookie)).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "request": path.split("?", 1)[1], "decision": "allow"}
    r = op.client.post("/oauth2/authorize/consent", form=form,
                       headers=with_cookie(cookie, **{"Sec-Fetch-Site": "cross-site"}))
    assert r.status == 403 and not r.header("location"), r
    db = db_access.connect(op.workdir / "auth.db", isolation_level=None)
    assert db.execute("SELECT COUNT(*) FROM oauth_consents").fetchone()[0] == 0
    # prompt=none still needs consent: nothing was granted.
    r, q, _ = authorize(op, cookie, c["client_id"], prompt="none")
    assert q["error"] == "consent_required"
    ok = op.client.post("/oauth2/authorize/consent", form=form,
                        headers=with_cookie(cookie, **{"Sec-Fetch-Site": "same-origin"}))
    assert ok.status == 303, ok
    assert query_of(ok.header("location"))[1]["state"] == req["state"]
