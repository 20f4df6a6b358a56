"""webauthn.attestation_policy over real HTTP: which attestations a
registration must carry. The software authenticator makes `none`, packed
self attestation, and packed attestation by a certificate from a CA the test
creates (python3-cryptography) and installs as the only trust anchor.
"""
import datetime
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import openapi_check
from conftest import BINARY
from pa_flows import bearer, sign_in
from soft_authenticator import SoftAuthenticator


def name(cn, ou=None):
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Soft Authenticators"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if ou:
        attrs.insert(2, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    return x509.Name(attrs)


class AttestationCA:
    """A root and one attestation certificate it issued (§8.2.1 subject)."""

    def __init__(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (x509.CertificateBuilder()
                     .subject_name(name("Soft Root"))
                     .issuer_name(name("Soft Root"))
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = (x509.CertificateBuilder()
                     .subject_name(name("Soft Authenticator", "Authenticator Attestation"))
                     .issuer_name(self.cert.subject)
                     .public_key(self.leaf_key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def packed(self, cred, auth_data, cdh):
        sig = self.leaf_key.sign(auth_data + cdh, ec.ECDSA(hashes.SHA256()))
        return "packed", {"alg": -7, "sig": sig,
                          "x5c": [self.leaf.public_bytes(serialization.Encoding.DER)]}


def packed_self(cred, auth_data, cdh):
    """Self attestation: the new credential's own key signs (§8.2)."""
    return "packed", {"alg": -7,
                      "sig": cred.key.sign(auth_data + cdh, ec.ECDSA(hashes.SHA256()))}


def attempt(server, tokens, attest):
    r = server.client.post("/v1/webauthn/register/options", headers=bearer(tokens))
    assert r.status == 200, r
    opts = r.json()
    cred_json, _ = SoftAuthenticator().create(opts["public_key"], attest=attest)
    r = server.client.post("/v1/webauthn/register/verify", headers=bearer(tokens),
                           json={"challenge_id": opts["challenge_id"], "credential": cred_json})
    # A refused attestation consumes its challenge like any failure.
    again = server.client.post("/v1/webauthn/register/verify", headers=bearer(tokens),
                               json={"challenge_id": opts["challenge_id"],
                                     "credential": cred_json})
    assert again.status == 400 and again.json()["error"]["code"] == "challenge_not_found"
    return r


def assert_not_trusted(r):
    assert r.status == 400, r
    body = r.json()
    openapi_check.validate(body, "AttestationNotTrustedError")
    assert body["error"]["code"] == "attestation_not_trusted"
    assert body["error"]["request_id"] == r.header("x-request-id")


@pytest.fixture
def ca():
    return AttestationCA()


def policy_server(start_server, tmp_path, ca, policy):
    anchors = tmp_path / f"anchors-{policy}"
    anchors.mkdir()
    (anchors / "soft-root.pem").write_bytes(ca.pem())
    return start_server(env={"PA_WEBAUTHN_ATTESTATION": "direct",
                             "PA_WEBAUTHN_TRUST_ANCHORS_DIR": str(anchors),
                             "PA_WEBAUTHN_ATTESTATION_POLICY": policy})


def test_require_trusted_accepts_only_a_chain_to_an_anchor(start_server, tmp_path, ca):
    s = policy_server(start_server, tmp_path, ca, "require-trusted")
    t = sign_in(s, "strict@example.org")
    assert_not_trusted(attempt(s, t, None))          # fmt none
    assert_not_trusted(attempt(s, t, packed_self))   # self attestation
    other = AttestationCA()                          # a chain to no anchor
    r = attempt(s, t, other.packed)
    assert r.status == 400 and r.json()["error"]["code"] == "webauthn_failed"
    r = attempt(s, t, ca.packed)
    assert r.status == 201, r
    listed = s.client.get("/v1/me/passkeys", headers=bearer(t)).json()["passkeys"]
    assert len(listed) == 1


def test_allow_self_refuses_only_none(start_server, tmp_path, ca):
    s = policy_server(start_server, tmp_path, ca, "allow-self")
    t = sign_in(s, "self@example.org")
    assert_not_trusted(attempt(s, t, None))
    assert attempt(s, t, packed_self).status == 201
    assert attempt(s, t, ca.packed).status == 201


def test_the_default_policy_accepts_every_attestation_that_verifies(start_server, tmp_path, ca):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "soft-root.pem").write_bytes(ca.pem())
    s = start_server(env={"PA_WEBAUTHN_ATTESTATION": "direct",
                          "PA_WEBAUTHN_TRUST_ANCHORS_DIR": str(anchors)})
    t = sign_in(s, "lax@example.org")
    for attest in (None, packed_self, ca.packed):
        assert attempt(s, t, attest).status == 201


def test_a_policy_that_can_never_be_met_stops_the_start(start_server, tmp_path):
    s = start_server()
    for env, key in (({"PA_WEBAUTHN_ATTESTATION_POLICY": "sometimes"}, "webauthn.attestation_policy"),
                     # Trusted chains need attestation asked for and anchors.
                     ({"PA_WEBAUTHN_ATTESTATION_POLICY": "require-trusted"}, "webauthn.attestation_policy"),
                     ({"PA_WEBAUTHN_ATTESTATION_POLICY": "require-trusted",
                       "PA_WEBAUTHN_ATTESTATION": "direct"}, "webauthn.trust_anchors_dir")):
        r = subprocess.run([BINARY, "check-config"], env={**s.env, **env},
                           capture_output=True, text=True)
        assert r.returncode == 2, (env, r)
        assert key in r.stdout + r.stderr, (env, r.stdout + r.stderr)
