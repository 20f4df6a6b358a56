"""Helpers that drive the email sign-in over HTTP and read the real outbox."""
import email
import email.policy
import pathlib
import re
import time


def outbox_files(server):
    d = pathlib.Path(server.workdir) / "outbox"
    if not d.exists():
        return []
    # mtime has a coarse granularity; files written in one tick tie, so the
    # name breaks ties (callers that need "the new one" use new_mail()).
    return sorted(d.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))


def outbox_messages(server):
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            for f in outbox_files(server)]


def new_mail(server, to, seen, timeout=10):
    """Waits for a message to `to` in a file not in `seen` (a set of names)."""
    deadline = time.monotonic() + timeout
    while True:
        for f in outbox_files(server):
            if f.name in seen:
                continue
            m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if to.lower() in str(m["To"]).lower():
                return m
        if time.monotonic() > deadline:
            raise AssertionError(f"no new mail to {to}")
        time.sleep(0.02)


def wait_for_mail(server, to, count=1, timeout=10):
    """Waits until `count` messages to `to` are in the outbox; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = [m for m in outbox_messages(server) if to.lower() in str(m["To"]).lower()]
        if len(msgs) >= count:
            return msgs
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} mail(s) to {to}, have {len(msgs)}")
        time.sleep(0.02)


def mail_link_and_code(msg):
    text = msg.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"(http\S+/v1/auth/email/link\?token=[A-Za-z0-9_-]+)", text).group(1)
    token = link.split("token=", 1)[1]
    code = re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)
    return link, token, code


def start(client, addr, **extra):
    r = client.post("/v1/auth/email/start", json={"email": addr, **extra})
    assert r.status == 202, r
    return r.json()


def new_sign_in_mail(server, to, seen, timeout=10):
    """Like new_mail(), for a sign-in mail (one with a link): notices to the
    same address (e.g. "a passkey was added") that the mailer writes after
    `seen` was taken are passed over, where new_mail() would return them."""
    deadline = time.monotonic() + timeout
    passed = set(seen)
    while True:
        for f in outbox_files(server):
            if f.name in passed:
                continue
            m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if to.lower() not in str(m["To"]).lower():
                continue
            text = m.get_body(preferencelist=("plain",)).get_content()
            if "/v1/auth/email/link?token=" in text:
                return m
            passed.add(f.name)
        if time.monotonic() > deadline:
            raise AssertionError(f"no new sign-in mail to {to}")
        time.sleep(0.02)


def sign_in(server, addr, ua="pytest"):
    """Full code sign-in; returns the token response JSON."""
    c = server.client
    seen = {f.name for f in outbox_files(server)}
    flow = start(c, addr)
    _, _, code = mail_link_and_code(new_sign_in_mail(server, addr, seen))
    r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": code},
               headers={"User-Agent": ua})
    assert r.status == 200, r
    return r.json()


def bearer(tokens):
    return {"Authorization": "Bearer " + tokens["access_token"]}
