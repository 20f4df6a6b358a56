"""Prepares benchmark inputs against a running service (loopback only).

  prepare.py token BASE OUTBOX        prints an access token (code sign-in)
  prepare.py links BASE OUTBOX N FILE writes N unused magic-link tokens

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


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
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
    wanted = [f"bench-link-{run}-{i}@example.com" for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda a: post(base, "/v1/auth/email/start", {"email": a}),
                      wanted))
    # Mail from an earlier case may still be queued ahead of these.
    texts = collect(outbox, seen, set(wanted), 120 + n / 50, quick_text_of)
    tokens = [re.search(r"token=([A-Za-z0-9_-]+)", texts[a]).group(1)
              for a in wanted]
    pathlib.Path(out).write_text("\n".join(tokens) + "\n")
    print(len(tokens))


main()
