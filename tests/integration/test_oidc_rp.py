"""A real relying party against the OpenID Provider (issue 16): the npm
`openid-client` v6 (OpenID Certified) drives tests/browser/rp_e2e.mjs with a
headless Chromium signing in through the hosted page, by email link from the
outbox and by passkey (CDP virtual authenticator), for a confidential client
(client_secret_basic) and a public one (none + PKCE): discovery, PKCE S256,
nonce, callback, code exchange with the library's ID token validation,
userinfo, refresh, revocation, RP-initiated logout. The ID tokens it got are
then checked again here, independently, by PyJWT with PyJWKClient (RS256
from our JWKS). Screenshots go to tests/artifacts/browser-rp/ (gitignored)."""
import base64
import hashlib
import json
import pathlib
import shutil
import subprocess

import jwt

from test_browser_login import BROWSER_DIR, CHROMIUM, free_port

ADMIN = "bootstrap-admin-key-for-tests-0123456789"
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "artifacts" / "browser-rp"
EMAIL = "rp-e2e@example.org"


def at_hash(access_token):
    d = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode()


def test_openid_client_signs_in_by_link_and_passkey_for_confidential_and_public_clients(
        start_server, tmp_path):
    for pkg in ("playwright-core", "openid-client"):
        assert (BROWSER_DIR / "node_modules" / pkg).is_dir(), (
            f"tests/browser/node_modules/{pkg} is missing: run scripts/npm-deps.sh")
    node = shutil.which("node")
    assert node, "node is not installed (Debian package nodejs)"
    assert pathlib.Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (Debian package chromium)"
    port = free_port()
    rp_port = free_port()
    origin = f"http://localhost:{port}"
    server = start_server(
        env={"PA_SERVER_PUBLIC_URL": origin,
             "PA_WEBAUTHN_RP_ID": "localhost",
             "PA_WEBAUTHN_ORIGINS": origin,
             "PA_ADMIN_API_KEY": ADMIN},
        args=["--set", f"server.port={port}"])
    adm = {"Authorization": "Bearer " + ADMIN}
    rp = f"http://127.0.0.1:{rp_port}"
    bye = rp + "/bye"

    def register(**body):
        r = server.client.post("/v1/admin/oauth/clients", json=body, headers=adm)
        assert r.status == 201, r
        return r.json()

    conf = register(name="Dashboard", type="confidential", first_party=True,
                    redirect_uris=[rp + "/cb"], post_logout_redirect_uris=[bye])
    # Not first party: the consent page shows once for its scope set.
    pub = register(name="Mobile app", type="public",
                   redirect_uris=[rp + "/public-cb"], post_logout_redirect_uris=[bye])
    clients = {
        "confidential": {"client_id": conf["client_id"], "client_secret": conf["client_secret"],
                         "redirect_uri": rp + "/cb"},
        "public": {"client_id": pub["client_id"], "redirect_uri": rp + "/public-cb"},
        "post_logout_redirect_uri": bye,
    }
    clients_file = tmp_path / "clients.json"
    clients_file.write_text(json.dumps(clients))
    out = tmp_path / "results.json"
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    proc = subprocess.run(
        [node, str(BROWSER_DIR / "rp_e2e.mjs"), "--url", origin,
         "--outbox", str(server.workdir / "outbox"), "--clients", str(clients_file),
         "--rp-port", str(rp_port), "--out", str(out), "--email", EMAIL,
         "--artifacts", str(ARTIFACTS), "--chromium", CHROMIUM],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"rp_e2e.mjs exited {proc.returncode}\n--- stdout\n{proc.stdout}"
        f"\n--- stderr\n{proc.stderr}\n--- service log (last lines)\n"
        + "\n".join(server.lines[-30:]))

    results = json.loads(out.read_text())
    assert [(r["kind"], r["method"]) for r in results] == [
        ("confidential", "link"), ("public", "passkey"),
        ("confidential", "passkey"), ("public", "link")]
    # Independently of openid-client: PyJWT with the JWKS (RS256 only).
    jwks = jwt.PyJWKClient(server.base + "/.well-known/jwks.json")
    subs = set()
    for r in results:
        for token, access in ((r["id_token"], r["access_token"]),
                              (r["refreshed_id_token"], r["refreshed_access_token"])):
            assert jwt.get_unverified_header(token)["alg"] == "RS256"
            key = jwks.get_signing_key_from_jwt(token)
            assert key.key_type == "RSA"
            # Expiry is not the point here (the flow took a while).
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=r["client_id"],
                                issuer=origin, options={"verify_exp": False})
            assert claims["azp"] == r["client_id"]
            assert claims["email"] == EMAIL and claims["email_verified"] is True
            assert claims["amr"] == [r["amr"]]
            assert claims["at_hash"] == at_hash(access)
            subs.add(claims["sub"])
        first = jwt.decode(r["id_token"], options={"verify_signature": False})
        assert first["nonce"] == r["nonce"]
    assert len(subs) == 1
    # A forged signature fails the same check.
    tok = results[0]["id_token"]
    forged = tok[:-6] + ("AAAAAA" if not tok.endswith("AAAAAA") else "BBBBBB")
    try:
        jwt.decode(forged, jwks.get_signing_key_from_jwt(tok).key, algorithms=["RS256"],
                   audience=results[0]["client_id"], issuer=origin,
                   options={"verify_exp": False})
        raise AssertionError("a forged ID token verified")
    except jwt.InvalidSignatureError:
        pass

    def audited(kind):
        r = server.client.get(f"/v1/admin/audit?type={kind}&limit=200", headers=adm)
        assert r.status == 200, r
        return r.json()["events"]

    # One consent (the public client's scope set, remembered), four logouts.
    assert len(audited("oauth.consent_granted")) == 1
    # The RP revoked its tokens before logging out: each logout is audited
    # all the same, saying the client's session had ended already.
    logouts = audited("oauth.logout")
    assert len(logouts) == 4
    assert {e["metadata"]["client_session_ended"] for e in logouts} == {False}
    assert {e["metadata"]["client_id"] for e in logouts} == {conf["client_id"], pub["client_id"]}
    assert len(audited("oauth.token_revoked")) == 4
    assert len(audited("oauth.authorized")) == 4
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    assert len(shots) >= 10, shots
