"""A software WebAuthn authenticator for the integration tests.

Makes real P-256 keys (python3-cryptography), builds authenticatorData with
real flags and counters, CBOR-encodes attestation objects (`fmt: none`, or what `attest` makes) and
COSE keys with the tiny encoder below, and signs real assertions. Output is
the JSON a browser's `PublicKeyCredential.toJSON()` produces, so tests send
exactly what a client would, and can bend any part of it.
"""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- a minimal CBOR encoder (RFC 8949): the types WebAuthn needs --------------

def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError("integer too large")


def cbor(x):
    if isinstance(x, bool):
        return b"\xf5" if x else b"\xf4"
    if x is None:
        return b"\xf6"
    if isinstance(x, int):
        return _head(0, x) if x >= 0 else _head(1, -1 - x)
    if isinstance(x, (bytes, bytearray)):
        return _head(2, len(x)) + bytes(x)
    if isinstance(x, str):
        b = x.encode()
        return _head(3, len(b)) + b
    if isinstance(x, (list, tuple)):
        return _head(4, len(x)) + b"".join(cbor(i) for i in x)
    if isinstance(x, dict):  # insertion order; callers pass canonical order
        return _head(5, len(x)) + b"".join(cbor(k) + cbor(v) for k, v in x.items())
    raise TypeError(type(x))


# -- flags of authenticatorData (WebAuthn §6.1) --------------------------------
UP, UV, BE, BS, AT, ED = 0x01, 0x04, 0x08, 0x10, 0x40, 0x80


class Credential:
    def __init__(self, user_handle, counter=0, rp_id="localhost"):
        self.id = os.urandom(32)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.user_handle = user_handle
        self.counter = counter
        self.rp_id = rp_id

    @property
    def id_b64(self):
        return b64u(self.id)

    def cose_key(self):
        n = self.key.public_key().public_numbers()
        return cbor({1: 2, 3: -7, -1: 1,
                     -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})


class SoftAuthenticator:
    """Holds credentials like a platform authenticator; signs like one."""

    def __init__(self, origin="http://localhost:3000", flags=UP | UV | BE | BS,
                 counter_step=1):
        self.origin = origin
        self.flags = flags
        self.counter_step = counter_step
        self.credentials = []

    @staticmethod
    def client_data(kind, challenge, origin):
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin, "crossOrigin": False},
                          separators=(",", ":")).encode()

    def auth_data(self, rp_id, flags, counter, attested=b""):
        return (hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
                + struct.pack(">I", counter) + attested)

    def create(self, public_key, origin=None, counter=None, flags=None,
               transports=("hybrid", "internal"), cred=None, attest=None):
        """navigator.credentials.create(): returns (credential JSON, Credential).
        `cred` re-attests an existing credential (what excludeCredentials
        should have prevented). `attest(cred, auth_data, client_data_hash)`
        returns (fmt, attStmt) for another attestation than `none`."""
        rp_id = public_key["rp"]["id"]
        if cred is None:
            cred = Credential(unb64u(public_key["user"]["id"]),
                              counter=counter or 0, rp_id=rp_id)
        attested = (bytes(16) + struct.pack(">H", len(cred.id)) + cred.id
                    + cred.cose_key())
        ad = self.auth_data(rp_id, (self.flags if flags is None else flags) | AT,
                            cred.counter, attested)
        cdj = self.client_data("webauthn.create", public_key["challenge"],
                               origin or self.origin)
        fmt, stmt = (attest(cred, ad, hashlib.sha256(cdj).digest())
                     if attest else ("none", {}))
        att = cbor({"fmt": fmt, "attStmt": stmt, "authData": ad})
        if cred not in self.credentials:
            self.credentials.append(cred)
        return {
            "id": cred.id_b64, "rawId": cred.id_b64, "type": "public-key",
            "response": {"clientDataJSON": b64u(cdj),
                         "attestationObject": b64u(att),
                         "transports": list(transports)},
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }, cred

    def get(self, public_key, cred=None, origin=None, counter=None, flags=None,
            user_handle=True):
        """navigator.credentials.get(): an assertion JSON by `cred` (default:
        the first allowed credential this authenticator holds, or its first)."""
        if cred is None:
            allowed = {d["id"] for d in public_key.get("allowCredentials", [])}
            cred = next((c for c in self.credentials if c.id_b64 in allowed),
                        self.credentials[0])
        if counter is None:
            if self.counter_step:
                cred.counter += self.counter_step
            counter = cred.counter
        ad = self.auth_data(public_key.get("rpId", cred.rp_id),
                            (self.flags if flags is None else flags), counter)
        cdj = self.client_data("webauthn.get", public_key["challenge"],
                               origin or self.origin)
        sig = cred.key.sign(ad + hashlib.sha256(cdj).digest(),
                            ec.ECDSA(hashes.SHA256()))
        handle = cred.user_handle if user_handle is True else user_handle
        return {
            "id": cred.id_b64, "rawId": cred.id_b64, "type": "public-key",
            "response": {"clientDataJSON": b64u(cdj),
                         "authenticatorData": b64u(ad),
                         "signature": b64u(sig),
                         "userHandle": None if handle is None else b64u(handle)},
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }
