#!/usr/bin/env python3
"""Writes the raw seed inputs of every fuzz target into OUT/<target>/.

Sources: the shared WebAuthn vectors (../shared/webauthn-vectors), the
example config, and hand-written inputs taken from the unit and integration
tests. scripts/fuzz.sh seeds runs this and then minimises each set into
tests/fuzz/corpus/<target>/ with libFuzzer's -merge=1, so only inputs that
add coverage are committed.
Usage: make_seeds.py SOURCE_DIR OUT
"""
import base64
import hashlib
import json
import os
import sys

src, out = sys.argv[1], sys.argv[2]
vectors = os.path.join(src, "..", "shared", "webauthn-vectors")


def b64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cbor_item(b, i):
    """(value, next offset) of the CBOR item at b[i:] (the subset WebAuthn
    uses: ints, byte and text strings, arrays, maps, simple values)."""
    major, info = b[i] >> 5, b[i] & 31
    i += 1
    if info < 24:
        n = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    else:
        raise ValueError("indefinite length")
    if major in (0, 1):
        return (n if major == 0 else -1 - n), i
    if major in (2, 3):
        v = b[i:i + n]
        return (v if major == 2 else v.decode()), i + n
    if major == 4:
        items = []
        for _ in range(n):
            v, i = cbor_item(b, i)
            items.append(v)
        return items, i
    if major == 5:
        m = {}
        for _ in range(n):
            k, i = cbor_item(b, i)
            v, i = cbor_item(b, i)
            m[k if not isinstance(k, list) else str(k)] = v
        return m, i
    if major == 6:
        return cbor_item(b, i)
    return n, i


FORMATS = {"none": "none", "packed": "packed", "fido-u2f": "fido_u2f",
           "tpm": "tpm", "android-key": "android_key",
           "android-safetynet": "android_safetynet", "apple": "apple"}

for name in ("py_webauthn", "simplewebauthn", "go_webauthn"):
    with open(os.path.join(vectors, name + ".json")) as f:
        cases = json.load(f)["cases"]
    for case in cases:
        resp = case["response"]
        body = resp.get("response", {})
        write("credential", json.dumps(resp))
        write("json_body", b"\x00" + json.dumps({"credential": resp}).encode())
        try:
            cdj = b64u(body.get("clientDataJSON", ""))
            if cdj:
                write("client_data", cdj)
            if "authenticatorData" in body:
                write("authenticator_data", b64u(body["authenticatorData"]))
            att = b64u(body.get("attestationObject", ""))
        except ValueError:
            continue
        if not att:
            continue
        write("cbor", att)
        write("attestation_object", att)
        try:
            obj, _ = cbor_item(att, 0)
        except (ValueError, IndexError, UnicodeDecodeError):
            continue
        if not isinstance(obj, dict):
            continue
        fmt = FORMATS.get(obj.get("fmt"))
        if fmt:
            write("attestation_" + fmt, att)
        auth = obj.get("authData")
        if isinstance(auth, bytes) and len(auth) >= 37:
            write("authenticator_data", auth)
            if auth[32] & 0x40 and len(auth) > 55:
                cid_len = int.from_bytes(auth[53:55], "big")
                start = 55 + cid_len
                try:
                    _, end = cbor_item(auth, start)
                    write("cose_key", auth[start:end])
                    write("cbor", auth[start:end])
                except (ValueError, IndexError, UnicodeDecodeError):
                    pass

# JSON bodies of each route family (first byte: the Content-Type choice).
for body in (
        {"email": "Alice@Example.com", "redirect_to": "https://app.example.com/done",
         "locale": "de"},
        {"flow_id": "f1", "code": "123456"},
        {"flow_id": "f1", "flow_secret": "s"},
        {"token": "t", "action": "confirm"},
        {"refresh_token": "r"},
        {"challenge_id": "c", "name": "laptop"},
        {"code": "ABCD-EFGH-IJKL"},
        {"cidr": "203.0.113.0/24", "action": "deny", "reason": "abuse"},
        {"url": "https://hooks.example.com/x", "events": ["user.created"]},
        {"display_name": "Ann", "locale": "fr"}):
    write("json_body", b"\x00" + json.dumps(body).encode())
write("json_body", b"\x01[1,2]")
write("json_body", b"\x03{}")

# HTTP requests as clients send them (first byte: the read chunk size).
for req in (
        b"GET /liveness HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /v1/auth/email/start HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Length: 27\r\n\r\n{\"email\":\"a@example.com\"}\r\n",
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        b"GET /v1/auth/email/confirm?token=abc&x=%41+b HTTP/1.1\r\nHost: a\r\n"
        b"X-Forwarded-For: 203.0.113.9, 10.0.0.1\r\nConnection: keep-alive\r\n\r\n"
        b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n"):
    write("http_request", b"\x00" + req)
    write("http_request", b"\x05" + req)

for text in ("", "AAAA", "AQID", "aGVsbG8", "aGVsbG8=", "JBSWY3DPEHPK3PXP",
             "jbswy3dpehpk3pxp", "0a1B", "-_-_", "MZXW6YTBOI======"):
    write("encoding", text)

for text in ("alice@example.com", "Alice.Smith+tag@Example.COM",
             "\"quoted\"@example.com", "a@b", "a@[127.0.0.1]", "a@@b.com",
             "x@xn--bcher-kva.example", "jos\u00e9@exampl\u00e9.com",
             "a" * 65 + "@example.com", " a@example.com "):
    write("email_address", text)

for text in ("10.0.0.0/8\n10.1.2.3\n203.0.113.7, 10.1.2.3\nfor=192.0.2.60;proto=https;by=10.0.0.1\nhttps",
             "2001:db8::/32\n2001:db8::1\n::ffff:1.2.3.4\nfor=\"[2001:db8::7]:4711\", for=_hidden\nhttp",
             "192.168.0.1/33\n::1\nunknown\nFor=\"_gazonk\"\nHTTPS",
             "0.0.0.0/0\n127.0.0.1\n1.1.1.1,2.2.2.2,3.3.3.3\nfor=1.1.1.1, for=2.2.2.2\n"):
    write("client_ip", text)

for text in ("https://app.example.com/done?x=1\nhttps://app.example.com/\nhttps://auth.example.com\nsame-origin",
             "http://localhost:3000/cb/../admin\nhttp://localhost:3000/cb\nnull\ncross-site",
             "https://[2001:db8::1]:8443/p#frag\nhttps://[2001:db8::1]:8443/\nhttps://auth.example.com:443\nnone",
             "https://app.example.com%2f@evil.com/\nhttps://app.example.com/\n\n",
             "http://169.254.169.254/latest\nhttp://10.0.0.1/\nhttps://AUTH.example.com\nsame-site"):
    write("url", text)

for text in ("Example\nAlice\nalice@example.com\nYour sign-in link\nHello\n<p>Hello</p>\nen\nid1",
             "Ex\u00e4mple \"Co\"\nJos\u00e9\njose@example.com\n\u00dcber = ? \u00e4\u00f6\u00fc long subject "
             "that needs folding because it is longer than seventy-eight characters\n"
             "line one\r\nline two with trailing space \n<b>x</b>\nde-CH\nunique-2",
             "a\nb\nbad address\nsubj\r\nBcc: x@y\nt\nh\n\n<left@right>"):
    write("mime", text)

with open(os.path.join(src, "config.example.toml"), "rb") as f:
    write("config_toml", f.read())
for text in ('[server]\nport = 8080\npublic_url = "https://auth.example.com"\n',
             '[rate_limit]\npolicies = { email_start = "5/60" }\n',
             '[auth]\nredirect_allow_list = ["https://app.example.com/"]\n',
             '[server]\ntrusted_proxies = ["10.0.0.0/8"]\nport = "x"\n',
             'not toml ['):
    write("config_toml", text)
