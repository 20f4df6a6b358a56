"""Prepares benchmark inputs against a running service (loopback only).

  prepare.py token BASE OUTBOX        prints an access token (code sign-in)
  prepare.py links BASE OUTBOX N FILE writes N unused magic-link tokens
"""
import email
import email.policy
import json
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


def mails(outbox, want, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        files = list(pathlib.Path(outbox).glob("*.eml"))
        if len(files) >= want or time.monotonic() > deadline:
            return files
        time.sleep(0.2)


def text_of(path):
    m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return str(m["To"]), m.get_body(preferencelist=("plain",)).get_content()


def main():
    mode, base, outbox = sys.argv[1:4]
    before = len(list(pathlib.Path(outbox).glob("*.eml")))
    if mode == "token":
        flow = post(base, "/v1/auth/email/start", {"email": "bench-session@example.com"})
        for f in mails(outbox, before + 1):
            to, text = text_of(f)
            if "bench-session" in to:
                code = re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)
                t = post(base, "/v1/auth/email/verify-code",
                         {"flow_id": flow["flow_id"], "code": code})
                print(t["access_token"])
                return
        sys.exit("no sign-in mail")
    n, out = int(sys.argv[4]), sys.argv[5]
    for i in range(n):
        post(base, "/v1/auth/email/start", {"email": f"bench-link-{i}@example.com"})
    tokens = []
    for f in mails(outbox, before + n):
        to, text = text_of(f)
        if "bench-link-" in to:
            tokens.append(re.search(r"token=([A-Za-z0-9_-]+)", text).group(1))
    pathlib.Path(out).write_text("\n".join(tokens) + "\n")
    print(len(tokens))


main()
