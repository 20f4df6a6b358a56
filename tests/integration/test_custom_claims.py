"""Custom access-token claims (auth.access_token_claims) over real HTTP.

Claims map names to paths in a user's app_metadata; every access token
minted (every sign-in method, refresh, a sign-in the CAF API started)
carries the values found there with their JSON types, and a change of
app_metadata shows in the next token. Tokens are checked with PyJWT against
the JWKS document only. Reserved claim names stop the start with exit 2.
"""
import json
import os
import subprocess
import time

import jwt

import db_access
from conftest import BINARY
from pa_flows import bearer, mail_link_and_code, new_mail, outbox_files, sign_in, start
from soft_authenticator import SoftAuthenticator
from test_caf_api import PLAINTEXT, run_client
from test_passkeys import login_options, login_verify, register
from test_totp import enrol, confirm, oathtool

CLAIMS = ("role=app_metadata.role, org=app_metadata.org.id,"
          "flags=app_metadata.flags, groups=app_metadata.groups,"
          "plan=app_metadata.billing.plan")
ENV = {"PA_AUTH_ACCESS_TOKEN_CLAIMS": CLAIMS}
META = {"role": "editor", "org": {"id": 42, "name": "Acme"},
        "flags": {"beta": True}, "groups": ["a", "b"],
        "secret_note": "not mapped, never in a token"}


def verified_claims(server, token):
    """Verifies the token independently, using only the JWKS document."""
    keys = {k["kid"]: jwt.PyJWK(k)
            for k in server.client.get("/.well-known/jwks.json").json()["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid].key, algorithms=["ES256"],
                      audience="passwordless-auth",
                      issuer="http://localhost:3000")


def set_app_metadata(server, user_id, doc):
    """Writes app_metadata as the admin API does (one UPDATE of the column)."""
    with db_access.connect(server.workdir / "auth.db") as conn:
        n = conn.execute("UPDATE users SET app_metadata = ? WHERE id = ?",
                         (json.dumps(doc), user_id)).rowcount
    assert n == 1


def custom(claims):
    return {k: claims[k] for k in ("role", "org", "flags", "groups", "plan")
            if k in claims}


def refresh(server, tokens):
    r = server.client.post("/v1/token/refresh",
                           json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200, r
    return r.json()


EXPECTED = {"role": "editor", "org": 42, "flags": {"beta": True},
            "groups": ["a", "b"]}


def test_claims_in_tokens_of_every_sign_in_method_and_refresh(start_server):
    s = start_server(env=ENV)
    first = sign_in(s, "claims@example.com")
    uid = first["user"]["id"]
    # Before app_metadata holds anything, no custom claim.
    assert custom(verified_claims(s, first["access_token"])) == {}
    set_app_metadata(s, uid, META)

    # Refresh: the change shows in the next token.
    r1 = refresh(s, first)
    c = verified_claims(s, r1["access_token"])
    assert custom(c) == EXPECTED
    assert isinstance(c["org"], int) and c["flags"]["beta"] is True
    assert "plan" not in c and "secret_note" not in json.dumps(c)
    # The service's own claims are what they were.
    assert c["sub"] == uid and c["sid"] == first["session_id"]
    assert c["amr"] == ["otp"]

    # One-time code (sign_in), and the link confirmed by JSON POST.
    assert custom(verified_claims(s, sign_in(s, "claims@example.com")["access_token"])) == EXPECTED
    seen = {f.name for f in outbox_files(s)}
    start(s.client, "claims@example.com")
    _, token, _ = mail_link_and_code(new_mail(s, "claims@example.com", seen))
    r = s.client.post("/v1/auth/email/link", json={"token": token})
    assert r.status == 200, r
    assert custom(verified_claims(s, r.json()["access_token"])) == EXPECTED

    # Passkey.
    authn = SoftAuthenticator()
    register(s, r1, authn)
    lo = login_options(s, "claims@example.com")
    r = login_verify(s, lo["challenge_id"], authn.get(lo["public_key"]))
    assert r.status == 200, r
    pk = verified_claims(s, r.json()["access_token"])
    assert pk["amr"] == ["webauthn"] and custom(pk) == EXPECTED

    # TOTP and a recovery code.
    fresh = sign_in(s, "claims@example.com")
    secret = enrol(s, fresh)["secret"]
    codes = confirm(s, fresh, secret)
    r = s.client.post("/v1/auth/totp/verify",
                      json={"email": "claims@example.com",
                            "code": oathtool(secret, time.time() + 30)})
    assert r.status == 200, r
    t = verified_claims(s, r.json()["access_token"])
    assert t["amr"] == ["totp"] and custom(t) == EXPECTED
    r = s.client.post("/v1/auth/recovery",
                      json={"email": "claims@example.com", "recovery_code": codes[0]})
    assert r.status == 200, r
    assert custom(verified_claims(s, r.json()["access_token"])) == EXPECTED

    # A change (a member gone, a type changed) shows in the next refresh.
    set_app_metadata(s, uid, {"role": ["admin", "editor"], "billing": {"plan": "pro"}})
    c = verified_claims(s, refresh(s, r1)["access_token"])
    assert custom(c) == {"role": ["admin", "editor"], "plan": "pro"}


def test_tokens_carry_no_custom_claims_without_the_setting(server):
    t = sign_in(server, "plain@example.com")
    set_app_metadata(server, t["user"]["id"], META)
    c = verified_claims(server, refresh(server, t)["access_token"])
    assert set(c) == {"iss", "aud", "sub", "sid", "iat", "exp", "jti", "amr",
                      "auth_time"}


def test_a_sign_in_started_over_caf_gets_the_claims(start_server):
    s = start_server(env={**PLAINTEXT, **ENV})
    t = sign_in(s, "cafclaims@example.com")
    set_app_metadata(s, t["user"]["id"], META)
    seen = {f.name for f in outbox_files(s)}
    rc, out, err = run_client(s, "email-start", "cafclaims@example.com")
    assert rc == 0, err
    _, _, code = mail_link_and_code(new_mail(s, "cafclaims@example.com", seen))
    r = s.client.post("/v1/auth/email/verify-code",
                      json={"flow_id": out[-1]["flow_id"], "code": code})
    assert r.status == 200, r
    tokens = r.json()
    assert custom(verified_claims(s, tokens["access_token"])) == EXPECTED
    # The CAF API verifies such a token like any other.
    rc, out, _ = run_client(s, "verify", tokens["access_token"])
    assert rc == 0 and out[-1]["sub"] == t["user"]["id"]


# -- start-up checks ------------------------------------------------------------

def run_binary(tmp_path, env, *args, config_text=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    full.update({"PA_DATABASE_PATH": str(tmp_path / "auth.db"),
                 "PA_MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
                 "PA_SERVER_PORT": "0"})
    full.update(env)
    cmd = [BINARY]
    if config_text is not None:
        (tmp_path / "config.toml").write_text(config_text)
        cmd += ["--config", str(tmp_path / "config.toml")]
    return subprocess.run(cmd + list(args), env=full, capture_output=True,
                          text=True, timeout=20)


def test_a_reserved_claim_name_stops_the_start_with_exit_2(tmp_path):
    for name in ("sub", "iss", "exp", "sid", "amr", "auth_time", "scope",
                 "email", "Sub"):
        r = run_binary(tmp_path, {"PA_AUTH_ACCESS_TOKEN_CLAIMS":
                                  f"role=app_metadata.role,{name}=app_metadata.x"})
        assert r.returncode == 2, (name, r.stderr)
        assert f"auth.access_token_claims.{name}" in r.stderr, r.stderr
        assert "reserved claim" in r.stderr, r.stderr
    # The TOML table form, and `serve` (the default command) alike.
    r = run_binary(tmp_path, {}, config_text='[auth.access_token_claims]\n'
                                             'role = "app_metadata.role"\n'
                                             'jti = "app_metadata.id"\n')
    assert r.returncode == 2 and "auth.access_token_claims.jti" in r.stderr, r.stderr
    # A path outside app_metadata (the user edits user_metadata) too.
    r = run_binary(tmp_path, {"PA_AUTH_ACCESS_TOKEN_CLAIMS": "role=user_metadata.role"})
    assert r.returncode == 2 and "app_metadata" in r.stderr, r.stderr
    r = run_binary(tmp_path, {"PA_AUTH_ACCESS_TOKEN_CLAIMS": "role"})
    assert r.returncode == 2 and "auth.access_token_claims" in r.stderr, r.stderr


def test_check_config_shows_the_claims_table_and_it_loads_again(tmp_path):
    r = run_binary(tmp_path, {"PA_AUTH_ACCESS_TOKEN_CLAIMS": CLAIMS}, "check-config")
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines()
                if l.startswith("access_token_claims"))
    assert 'org = "app_metadata.org.id"' in line, line
    assert 'role = "app_metadata.role"' in line, line
    # A namespaced (URI) claim name in the TOML table form comes out quoted,
    # and the printed line is valid TOML that loads to the same table.
    r = run_binary(tmp_path, {}, "check-config",
                   config_text='[auth.access_token_claims]\n'
                               '"https://example.com/tier" = "app_metadata.tier"\n'
                               'role = "app_metadata.role"\n')
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines()
                if l.startswith("access_token_claims")).split("  #")[0]
    assert '"https://example.com/tier" = "app_metadata.tier"' in line, line
    again = run_binary(tmp_path, {}, "check-config", config_text="[auth]\n" + line + "\n")
    assert again.returncode == 0, again.stderr
    assert line in again.stdout
