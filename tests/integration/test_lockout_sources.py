"""Issue #11, Medium 2: anyone who knows an address must not be able to lock
its owner out. Failures are counted per source address (and per account for
secrets the owner holds), so an attacker at one address stops only itself.

The service trusts 127.0.0.1 as a proxy, so each test client picks its
address with X-Forwarded-For (as test_defences.py does)."""
import time

from pa_flows import bearer, mail_link_and_code, new_mail, outbox_files, sign_in, start
from soft_authenticator import SoftAuthenticator, b64u, unb64u
from test_totp import assert_invalid_code, enabled_user, oathtool

ATTACKER = "198.51.100.66"
OWNER = "203.0.113.7"
# The default lockout threshold is 10; every attack below sends more.
TRIES = 12


def xff(ip):
    return {"X-Forwarded-For": ip}


def proxied(start_server, **env):
    return start_server(env={"PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32", **env})


def register(server, tokens, authn):
    c = server.client
    opts = c.post("/v1/webauthn/register/options", headers=bearer(tokens)).json()
    cred_json, cred = authn.create(opts["public_key"])
    r = c.post("/v1/webauthn/register/verify", headers=bearer(tokens),
               json={"challenge_id": opts["challenge_id"], "credential": cred_json})
    assert r.status == 201, r
    return cred


def login_options(server, ip, email=None):
    r = server.client.post("/v1/webauthn/login/options", headers=xff(ip),
                           json={} if email is None else {"email": email})
    assert r.status == 200, r
    return r.json()


def login_verify(server, ip, challenge_id, credential):
    return server.client.post("/v1/webauthn/login/verify", headers=xff(ip),
                              json={"challenge_id": challenge_id,
                                    "credential": credential})


def reason(r):
    assert r.status == 400, r
    return r.json()["error"]["details"]["reason"]


# -- passkeys -----------------------------------------------------------------

def test_garbage_assertions_from_one_address_never_block_the_owners_passkey(start_server):
    s = proxied(start_server)
    addr = "ann@example.org"
    authn = SoftAuthenticator()
    cred = register(s, sign_in(s, addr), authn)
    # The attacker learns the credential id from login/options and sends
    # assertions that prove nothing: bad signatures, and malformed ones.
    for i in range(TRIES):
        lo = login_options(s, ATTACKER, addr)
        forged = authn.get(lo["public_key"], cred=cred)
        if i % 2:
            forged["response"]["signature"] = b64u(b"\x30\x06\x02\x01\x01\x02\x01\x01")
        else:
            forged["response"]["authenticatorData"] = b64u(b"junk")
        assert login_verify(s, ATTACKER, lo["challenge_id"], forged).status == 400
    # Garbage that names no usable credential at all.
    for _ in range(TRIES):
        lo = login_options(s, ATTACKER)
        r = login_verify(s, ATTACKER, lo["challenge_id"],
                         {"id": "x", "rawId": "x", "type": "public-key", "response": {}})
        assert r.status == 400, r
    # The owner, elsewhere, signs in with the passkey: with the address and
    # usernameless.
    lo = login_options(s, OWNER, addr)
    r = login_verify(s, OWNER, lo["challenge_id"], authn.get(lo["public_key"], cred=cred))
    assert r.status == 200, r
    lo = login_options(s, OWNER)
    r = login_verify(s, OWNER, lo["challenge_id"], authn.get(lo["public_key"], cred=cred))
    assert r.status == 200, r
    # The attacker's address is throttled: even a good assertion sent from
    # there is refused (it answers like a bad signature).
    lo = login_options(s, ATTACKER, addr)
    assert reason(login_verify(s, ATTACKER, lo["challenge_id"],
                               authn.get(lo["public_key"], cred=cred))) == "signature_invalid"


def test_malformed_assertions_throttle_their_source_only(start_server):
    s = proxied(start_server)
    authn = SoftAuthenticator()
    cred = register(s, sign_in(s, "bob@example.org"), authn)
    stranger = SoftAuthenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": b64u(b"x" * 16)},
                     "challenge": b64u(b"c" * 32)})
    reasons = set()
    for i in range(TRIES):
        lo = login_options(s, ATTACKER)
        if i % 2:
            r = login_verify(s, ATTACKER, lo["challenge_id"], stranger.get(lo["public_key"]))
        else:
            r = login_verify(s, ATTACKER, lo["challenge_id"],
                             {"id": "x", "rawId": "x", "type": "public-key",
                              "response": {}})
        reasons.add(reason(r))
    # After the threshold the source is throttled: its answers turn into
    # the bad-signature answer, whatever it sends.
    assert "signature_invalid" in reasons, reasons
    lo = login_options(s, ATTACKER)
    assert reason(login_verify(s, ATTACKER, lo["challenge_id"],
                               authn.get(lo["public_key"], cred=cred))) == "signature_invalid"
    # Nobody else is: the owner from another address signs in.
    lo = login_options(s, OWNER)
    assert login_verify(s, OWNER, lo["challenge_id"],
                        authn.get(lo["public_key"], cred=cred)).status == 200


def test_login_options_have_one_shape_for_every_address(start_server):
    s = proxied(start_server)
    many = sign_in(s, "many@example.org")
    usb = SoftAuthenticator()
    opts = s.client.post("/v1/webauthn/register/options", headers=bearer(many)).json()
    cred_json, usb_cred = usb.create(opts["public_key"], transports=("usb",))
    assert s.client.post("/v1/webauthn/register/verify", headers=bearer(many),
                         json={"challenge_id": opts["challenge_id"],
                               "credential": cred_json}).status == 201
    phone = SoftAuthenticator()
    phone_cred = register(s, many, phone)
    one = SoftAuthenticator()
    one_cred = register(s, sign_in(s, "one@example.org"), one)
    sign_in(s, "none@example.org")

    def shape(email):
        pk = login_options(s, OWNER, email)["public_key"]
        d = pk["allowCredentials"]
        return (len(d), tuple(sorted(len(unb64u(x["id"])) for x in d)),
                tuple(sorted({tuple(x["transports"]) for x in d})),
                tuple(sorted({x["type"] for x in d})), pk["userVerification"])

    shapes = {a: shape(a) for a in ["many@example.org", "one@example.org",
                                    "none@example.org", "nobody@example.org"]}
    assert len(set(shapes.values())) == 1, shapes
    # The real ids are in the lists, so each passkey still signs in.
    ids = {d["id"] for d in login_options(s, OWNER, "many@example.org")
           ["public_key"]["allowCredentials"]}
    assert {usb_cred.id_b64, phone_cred.id_b64} <= ids
    for authn, cred, addr in [(usb, usb_cred, "many@example.org"),
                              (phone, phone_cred, "many@example.org"),
                              (one, one_cred, "one@example.org")]:
        lo = login_options(s, OWNER, addr)
        assert login_verify(s, OWNER, lo["challenge_id"],
                            authn.get(lo["public_key"], cred=cred)).status == 200


# -- email codes --------------------------------------------------------------

def wrong(code):
    return "000000" if code != "000000" else "111111"


def test_wrong_email_codes_from_one_address_leave_the_owner_a_fresh_code_and_the_link(start_server):
    s = proxied(start_server)
    c = s.client
    addr = "eve@example.org"
    sign_in(s, addr)
    # The attacker starts flows for the address and guesses (5 per code, the
    # cap that stays), three flows in a row: more than the threshold.
    for _ in range(3):
        seen = {f.name for f in outbox_files(s)}
        flow = start(c, addr)
        _, _, code = mail_link_and_code(new_mail(s, addr, seen))
        for _ in range(5):
            r = c.post("/v1/auth/email/verify-code", headers=xff(ATTACKER),
                       json={"flow_id": flow["flow_id"], "code": wrong(code)})
            assert r.status == 400 and r.json()["error"]["code"] == "invalid_code", r
    # The owner, from home, uses a fresh code.
    seen = {f.name for f in outbox_files(s)}
    flow = start(c, addr)
    link, token, code = mail_link_and_code(new_mail(s, addr, seen))
    r = c.post("/v1/auth/email/verify-code", headers=xff(OWNER),
               json={"flow_id": flow["flow_id"], "code": code})
    assert r.status == 200, r
    # ... and the link of another one.
    seen = {f.name for f in outbox_files(s)}
    start(c, addr)
    _, token, _ = mail_link_and_code(new_mail(s, addr, seen))
    assert c.post("/v1/auth/email/link", headers=xff(OWNER),
                  json={"token": token}).status == 200
    # The attacker's address stays locked for this account: even the right
    # code of a fresh flow answers like a wrong one there.
    seen = {f.name for f in outbox_files(s)}
    flow = start(c, addr)
    _, _, code = mail_link_and_code(new_mail(s, addr, seen))
    r = c.post("/v1/auth/email/verify-code", headers=xff(ATTACKER),
               json={"flow_id": flow["flow_id"], "code": code})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_code", r


# -- TOTP and recovery codes --------------------------------------------------

def test_wrong_totp_and_recovery_codes_from_one_address_do_not_lock_the_owner(start_server):
    s = proxied(start_server)
    c = s.client
    addr = "tom@example.org"
    _, secret, codes = enabled_user(s, addr)
    for _ in range(TRIES):
        assert_invalid_code(c.post("/v1/auth/totp/verify", headers=xff(ATTACKER),
                                   json={"email": addr, "code": "000000"}))
        assert_invalid_code(c.post("/v1/auth/recovery", headers=xff(ATTACKER),
                                   json={"email": addr, "recovery_code": "AAAA-BBBB-CCCC"}))
    good = oathtool(secret, time.time() + 30)
    # Locked for the attacker's address: the good code answers like a wrong
    # one there (and is not spent by that refusal).
    assert_invalid_code(c.post("/v1/auth/totp/verify", headers=xff(ATTACKER),
                               json={"email": addr, "code": good}))
    assert_invalid_code(c.post("/v1/auth/recovery", headers=xff(ATTACKER),
                               json={"email": addr, "recovery_code": codes[0]}))
    # The owner, elsewhere, is not.
    r = c.post("/v1/auth/totp/verify", headers=xff(OWNER), json={"email": addr, "code": good})
    assert r.status == 200, r
    r = c.post("/v1/auth/recovery", headers=xff(OWNER),
               json={"email": addr, "recovery_code": codes[0]})
    assert r.status == 200, r
