"""TOTP and recovery codes over real HTTP, checked against oathtool.

Codes come from the independent generator `oathtool --totp -b SECRET`
(`--now @<unix>` for other time steps); the QR code is rendered with
rsvg-convert and decoded with zbarimg.
"""
import base64
import concurrent.futures
import json
import re
import subprocess
import time
import urllib.parse

import db_access
from conftest import wait_until
from pa_flows import bearer, new_mail, outbox_files, sign_in

CODE_RE = re.compile(r"^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$")


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def oathtool(secret, at=None):
    cmd = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        cmd.append(f"--now=@{int(at)}")
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout.strip()


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_invalid_code(r):
    assert r.status == 400, r
    e = r.json()["error"]
    assert e["code"] == "invalid_code"
    return {k: v for k, v in e.items() if k != "request_id"}


def enrol(server, tokens):
    r = server.client.post("/v1/me/totp", headers=bearer(tokens))
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    body = r.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])  # 160 bits
    return body


def confirm(server, tokens, secret, at=None):
    r = server.client.post("/v1/me/totp/confirm", headers=bearer(tokens),
                           json={"code": oathtool(secret, at)})
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(CODE_RE.match(c) for c in codes), codes
    return codes


def verify(server, addr, code):
    return server.client.post("/v1/auth/totp/verify",
                              json={"email": addr, "code": code})


def enabled_user(server, addr):
    tokens = sign_in(server, addr)
    e = enrol(server, tokens)
    codes = confirm(server, tokens, e["secret"])
    return tokens, e["secret"], codes


def test_enrolment_uri_qr_and_pending_state(start_server, tmp_path):
    s = start_server(env={"PA_TOTP_ISSUER": "Acme Co"})
    tokens = sign_in(s, "ann@example.org")
    e = enrol(s, tokens)
    uri = e["otpauth_uri"]
    assert uri.startswith("otpauth://totp/Acme%20Co:ann%40example.org?")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    assert q["secret"] == [e["secret"]] and q["issuer"] == ["Acme Co"]
    assert q["algorithm"] == ["SHA1"] and q["digits"] == ["6"] and q["period"] == ["30"]
    # The QR code decodes (independently) to exactly the same URI.
    svg = tmp_path / "qr.svg"
    png = tmp_path / "qr.png"
    svg.write_text(e["qr_svg"])
    subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], check=True)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == uri
    # The secret is stored encrypted, and pending until confirmed.
    with db(s) as con:
        enc, confirmed = con.execute("SELECT secret_enc, confirmed_at FROM totp").fetchone()
    assert confirmed is None and e["secret"].encode() not in enc
    assert_invalid_code(verify(s, "ann@example.org", oathtool(e["secret"])))
    # Enrolling again while pending replaces the secret.
    e2 = enrol(s, tokens)
    assert e2["secret"] != e["secret"]
    r = s.client.post("/v1/me/totp/confirm", headers=bearer(tokens),
                      json={"code": oathtool(e["secret"])})
    if oathtool(e["secret"]) != oathtool(e2["secret"]):
        assert_invalid_code(r)
    confirm(s, tokens, e2["secret"])
    r = s.client.post("/v1/me/totp", headers=bearer(tokens))
    assert r.status == 409 and r.json()["error"]["code"] == "totp_already_enabled"
    r = s.client.post("/v1/me/totp/confirm", headers=bearer(tokens),
                      json={"code": oathtool(e2["secret"])})
    assert r.status == 409 and r.json()["error"]["code"] == "totp_not_pending"


def test_confirm_mails_the_owner_and_rejects_bad_input(server):
    tokens = sign_in(server, "mia@example.org")
    e = enrol(server, tokens)
    c = server.client
    r = c.post("/v1/me/totp/confirm", headers=bearer(tokens), json={"code": "12345"})
    assert r.status == 422
    wrong = "000000" if oathtool(e["secret"]) != "000000" else "111111"
    assert_invalid_code(c.post("/v1/me/totp/confirm", headers=bearer(tokens),
                               json={"code": wrong}))
    seen = {f.name for f in outbox_files(server)}
    confirm(server, tokens, e["secret"])
    msg = new_mail(server, "mia@example.org", seen)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "authenticator app" in text.lower()


def test_codes_from_oathtool_sign_in_once_with_one_step_of_skew(server):
    addr = "bob@example.org"
    tokens = sign_in(server, addr)
    e = enrol(server, tokens)
    secret = e["secret"]
    now = time.time()
    # Confirm with the previous step's code (clock of the phone 30 s behind).
    confirm(server, tokens, secret, at=now - 30)
    r = verify(server, addr, oathtool(secret, now))
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    t = r.json()
    assert claims(t["access_token"])["amr"] == ["totp"]
    assert t["user"]["email"] == addr
    # The same code again: a replay.
    shape = assert_invalid_code(verify(server, addr, oathtool(secret, now)))
    # One step ahead (phone clock fast) is accepted, once.
    assert verify(server, addr, oathtool(secret, now + 30)).status == 200
    assert_invalid_code(verify(server, addr, oathtool(secret, now + 30)))
    # An older step than the last one used never passes again.
    assert_invalid_code(verify(server, addr, oathtool(secret, now - 30)))
    # Far outside the window.
    assert_invalid_code(verify(server, addr, oathtool(secret, now + 300)))
    # Unknown address and an account without TOTP answer the same way.
    assert assert_invalid_code(verify(server, "nobody@example.org", "123456")) == shape
    sign_in(server, "plain@example.org")
    assert assert_invalid_code(verify(server, "plain@example.org",
                                      oathtool(secret, now))) == shape
    r = verify(server, addr, "12ab56")
    assert r.status == 422


def test_concurrent_uses_of_one_code_let_exactly_one_through(server):
    addr = "race@example.org"
    _, secret, _ = enabled_user(server, addr)
    # The confirm consumed the current step; the next one is fresh.
    code = oathtool(secret, time.time() + 30)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        statuses = list(ex.map(lambda _: verify(server, addr, code).status, range(8)))
    assert sorted(statuses) == [200] + [400] * 7, statuses


def test_recovery_codes_work_once_and_regenerate_replaces_them(server):
    addr = "rex@example.org"
    tokens, secret, codes = enabled_user(server, addr)
    c = server.client
    r = c.post("/v1/auth/recovery", json={"email": addr, "recovery_code": codes[0]})
    assert r.status == 200, r
    assert claims(r.json()["access_token"])["amr"] == ["recovery_code"]
    shape = assert_invalid_code(
        c.post("/v1/auth/recovery", json={"email": addr, "recovery_code": codes[0]}))
    # Case, spaces and dashes are ignored.
    sloppy = " " + codes[1].upper().replace("-", " ") + " "
    assert c.post("/v1/auth/recovery",
                  json={"email": addr, "recovery_code": sloppy}).status == 200
    assert assert_invalid_code(c.post(
        "/v1/auth/recovery", json={"email": "ghost@example.org",
                                   "recovery_code": codes[2]})) == shape
    assert assert_invalid_code(c.post(
        "/v1/auth/recovery", json={"email": addr, "recovery_code": "zzzzz-zzzzz"})) == shape
    # Stored hashed only.
    with db(server) as con:
        stored = [h for (h,) in con.execute("SELECT code_hash FROM recovery_codes")]
    assert len(stored) == 10 and not set(stored) & {x.replace("-", "") for x in codes}
    # Regenerate: needs a current code; all old codes stop working.
    r = c.post("/v1/me/totp/recovery-codes", headers=bearer(tokens), json={"code": "000000"})
    assert r.status == 400
    r = c.post("/v1/me/totp/recovery-codes", headers=bearer(tokens),
               json={"code": oathtool(secret, time.time() + 30)})
    assert r.status == 200, r
    fresh = r.json()["recovery_codes"]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert_invalid_code(c.post("/v1/auth/recovery",
                               json={"email": addr, "recovery_code": codes[3]}))
    assert c.post("/v1/auth/recovery",
                  json={"email": addr, "recovery_code": fresh[0]}).status == 200


def test_disable_needs_a_current_code_and_removes_everything(server):
    addr = "dee@example.org"
    tokens, secret, codes = enabled_user(server, addr)
    c = server.client
    r = c.delete("/v1/me/totp", headers=bearer(tokens), json={"code": "000000"})
    if oathtool(secret) != "000000":
        assert_invalid_code(r)
    # The code the confirm used is spent: a replay cannot disable.
    assert_invalid_code(c.delete("/v1/me/totp", headers=bearer(tokens),
                                 json={"code": oathtool(secret)}))
    r = c.delete("/v1/me/totp", headers=bearer(tokens),
                 json={"code": oathtool(secret, time.time() + 30)})
    assert r.status == 204, r
    with db(server) as con:
        assert con.execute("SELECT COUNT(*) FROM totp").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM recovery_codes").fetchone()[0] == 0
    assert_invalid_code(verify(server, addr, oathtool(secret, time.time() + 60)))
    r = c.delete("/v1/me/totp", headers=bearer(tokens), json={"code": "123456"})
    assert r.status == 409
    # Enabling again works after disabling.
    enrol(server, tokens)


def test_enrolment_is_bound_to_the_bearer_never_to_an_email(server):
    c = server.client
    victim = sign_in(server, "victim@example.org")
    attacker = sign_in(server, "mallory@example.org")
    assert c.post("/v1/me/totp").status == 401
    assert c.post("/v1/me/totp", json={"email": "victim@example.org"}).status == 401
    # The attacker's bearer with the victim's address in the body: the
    # enrolment is the attacker's own.
    r = c.post("/v1/me/totp", headers=bearer(attacker),
               json={"email": "victim@example.org", "user_id": victim["user"]["id"]})
    assert r.status == 200
    assert "mallory%40example.org" in r.json()["otpauth_uri"]
    with db(server) as con:
        rows = con.execute("SELECT user_id FROM totp").fetchall()
    assert rows == [(attacker["user"]["id"],)]
    secret = r.json()["secret"]
    r = c.post("/v1/me/totp/confirm", headers=bearer(attacker), json={"code": oathtool(secret)})
    assert r.status == 200
    assert_invalid_code(verify(server, "victim@example.org", oathtool(secret, time.time() + 30)))
    # No route enrols by email (the seed's did).
    for path in ["/totp/enroll", "/v1/totp/enroll", "/v1/auth/totp/enroll"]:
        assert c.post(path, json={"email": "victim@example.org"}).status == 404


def test_totp_lockout_answers_like_a_wrong_code_and_expires(start_server):
    s = start_server(env={"PA_AUTH_LOCKOUT_DURATION": "2"})
    addr = "lock@example.org"
    _, secret, _ = enabled_user(s, addr)
    wrong = "000000"
    shapes = []
    for _ in range(10):
        r = verify(s, addr, wrong)
        shapes.append((r.status, assert_invalid_code(r)))
    good = oathtool(secret, time.time() + 30)
    r = verify(s, addr, good)
    assert (r.status, assert_invalid_code(r)) == shapes[0]
    assert set(r.json()["error"]) == set(verify(s, addr, wrong).json()["error"])
    with db(s) as con:
        (until,), = con.execute("SELECT locked_until FROM failed_attempts "
                                "WHERE method = 'totp'").fetchall()
    # The lock runs out by itself: the good code (valid 30 s more at least, and
    # not spent by a refusal while locked) works again, not before locked_until.
    r = wait_until(lambda: (r := verify(s, addr, good)).status != 400 and r,
                   timeout=5, what="the lock to run out", interval=0.1)
    assert r.status == 200, r
    assert time.time() >= until
    metrics = s.client.get("/metrics").text
    assert 'account_lockouts_total{method="totp"} 1' in metrics


def test_responses_match_the_openapi_document(server):
    import openapi_check as oc
    documented = oc.documented_routes(oc.DEFAULT_DOCUMENT)
    for route in [("POST", "/v1/me/totp"), ("DELETE", "/v1/me/totp"),
                  ("POST", "/v1/me/totp/confirm"),
                  ("POST", "/v1/me/totp/recovery-codes"),
                  ("POST", "/v1/auth/totp/verify"), ("POST", "/v1/auth/recovery")]:
        assert route in documented, route
    tokens = sign_in(server, "doc@example.org")
    e = enrol(server, tokens)
    oc.validate(e, oc.response_schema_ref("POST", "/v1/me/totp", "200"))
    r = server.client.post("/v1/me/totp/confirm", headers=bearer(tokens),
                           json={"code": oathtool(e["secret"])})
    oc.validate(r.json(), oc.response_schema_ref("POST", "/v1/me/totp/confirm", "200"))
    r = verify(server, "doc@example.org", oathtool(e["secret"], time.time() + 30))
    oc.validate(r.json(), oc.response_schema_ref("POST", "/v1/auth/totp/verify", "200"))
    r = verify(server, "doc@example.org", "000000")
    oc.validate(r.json(), oc.response_schema_ref("POST", "/v1/auth/totp/verify", "400"))
