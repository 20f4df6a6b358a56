"""Prepares benchmark inputs against a running service (loopback only).

  prepare.py token BASE OUTBOX          prints an access token (code sign-in)
  prepare.py links BASE OUTBOX N FILE   N bodies for POST /v1/auth/email/link
  prepare.py codes BASE OUTBOX N FILE   N bodies for .../email/verify-code
  prepare.py refresh BASE OUTBOX N FILE N bodies for POST /v1/token/refresh
                                        (N code sign-ins, one session each)
  prepare.py passkeys BASE OUTBOX N FILE N bodies for
                                        POST /v1/webauthn/login/verify (one
                                        user, one passkey, N challenges, each
                                        assertion signed ahead)

FILE gets one JSON body a line; each works once (bench/one_shot.lua).

Only mail that arrives after the call started is read, and each run uses
its own recipients (bench-link-<run>-<i>@example.com), so a backlog of
earlier mail (e.g. from the email_start case) or an earlier run's tokens
cannot be mistaken for this run's.
"""
import binascii
import concurrent.futures
import email
import email.policy
import json
import os
import pathlib
import re
import sys
import time
import urllib.request


def post(base, path, body, headers=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **(headers or {})})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def text_of(path):
    m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    to = m["To"].addresses[0].addr_spec.lower()
    return to, m.get_body(preferencelist=("plain",)).get_content()


TO = re.compile(rb"^To:[^\r\n]*?([A-Za-z0-9._+-]+@[A-Za-z0-9.-]+)", re.M | re.I)


def quick_text_of(path):
    """(recipient, whole message with quoted-printable undone): enough to
    find a link and ~20x faster than the email package for thousands."""
    raw = path.read_bytes()
    to = TO.search(raw)
    if not to:
        raise ValueError("no To yet")
    return to.group(1).decode().lower(), binascii.a2b_qp(raw).decode("utf-8", "replace")


def collect(outbox, seen, wanted, timeout, read=text_of):
    """Reads new mail until every address in `wanted` got one.
    Returns {address: text}."""
    found = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(wanted):
        fresh = [f for f in pathlib.Path(outbox).glob("*.eml") if f.name not in seen]
        for f in fresh:
            seen.add(f.name)
            try:
                to, text = read(f)
            except Exception:
                seen.discard(f.name)  # still being written; read it again
                continue
            if to in wanted:
                found[to] = text
        if len(found) < len(wanted):
            if time.monotonic() > deadline:
                sys.exit(f"only {len(found)} of {len(wanted)} mails arrived "
                         f"within {timeout:.0f} s")
            time.sleep(0.2)
    return found


def main():
    mode, base, outbox = sys.argv[1:4]
    pathlib.Path(outbox).mkdir(parents=True, exist_ok=True)
    seen = {f.name for f in pathlib.Path(outbox).glob("*.eml")}
    run = f"{os.getpid()}{int(time.time())}"
    if mode == "token":
        addr = f"bench-session-{run}@example.com"
        flow = post(base, "/v1/auth/email/start", {"email": addr})
        text = collect(outbox, seen, {addr}, 120)[addr]
        code = re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)
        t = post(base, "/v1/auth/email/verify-code",
                 {"flow_id": flow["flow_id"], "code": code})
        print(t["access_token"])
        return
    n, out = int(sys.argv[4]), sys.argv[5]
    if mode == "passkeys":
        bodies = passkey_bodies(base, outbox, seen, run, n)
    else:
        bodies = mail_bodies(mode, base, outbox, seen, run, n)
    pathlib.Path(out).write_text("\n".join(bodies) + "\n")
    print(len(bodies))


def dumps(x):
    return json.dumps(x, separators=(",", ":"))


def mail_bodies(mode, base, outbox, seen, run, n):
    wanted = [f"bench-{mode}-{run}-{i}@example.com" for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        flows = dict(zip(wanted, pool.map(
            lambda a: post(base, "/v1/auth/email/start", {"email": a}), wanted)))
    # Mail from an earlier case may still be queued ahead of these.
    texts = collect(outbox, seen, set(wanted), 120 + n / 50, quick_text_of)
    if mode == "links":
        return [dumps({"token": re.search(r"token=([A-Za-z0-9_-]+)",
                                          texts[a]).group(1)}) for a in wanted]
    codes = [dumps({"flow_id": flows[a]["flow_id"],
                    "code": re.search(r"^\s+(\d{6})\s*$", texts[a], re.M).group(1)})
             for a in wanted]
    if mode == "codes":
        return codes
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        tokens = list(pool.map(
            lambda b: post(base, "/v1/auth/email/verify-code", json.loads(b)),
            codes))
    return [dumps({"refresh_token": t["refresh_token"]}) for t in tokens]


def passkey_bodies(base, outbox, seen, run, n):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]
                           / "tests" / "integration"))
    from soft_authenticator import SoftAuthenticator
    addr = f"bench-passkey-{run}@example.com"
    flow = post(base, "/v1/auth/email/start", {"email": addr})
    text = collect(outbox, seen, {addr}, 120)[addr]
    code = re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)
    t = post(base, "/v1/auth/email/verify-code",
             {"flow_id": flow["flow_id"], "code": code})
    auth = {"Authorization": "Bearer " + t["access_token"]}
    # A synced passkey (counter 0): assertions verified in any order are
    # all valid, as wrk's connections answer them out of order.
    authn = SoftAuthenticator(counter_step=0)
    opts = post(base, "/v1/webauthn/register/options", {}, auth)
    cred, _ = authn.create(opts["public_key"])
    post(base, "/v1/webauthn/register/verify",
         {"challenge_id": opts["challenge_id"], "credential": cred}, auth)

    def one(_):
        o = post(base, "/v1/webauthn/login/options", {"email": addr})
        return dumps({"challenge_id": o["challenge_id"],
                      "credential": authn.get(o["public_key"])})
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


main()
