#!/usr/bin/env python3
"""Mixed traffic for bench/soak.sh: sign-ins by email code (start, read the
outbox, verify), refresh rotations, token checks and probes, from a few
threads at a modest steady rate, until SECONDS have passed. Prints one JSON
line of counts at the end. Talks to 127.0.0.1 only."""
import json
import pathlib
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]
                       / "tests" / "integration"))
from pa_client import Client  # noqa: E402
from pa_flows import mail_link_and_code  # noqa: E402

import email  # noqa: E402
import email.policy  # noqa: E402

base, outbox, seconds = sys.argv[1], pathlib.Path(sys.argv[2]), float(sys.argv[3])
c = Client(base)
end = time.monotonic() + seconds
counts = {}
lock = threading.Lock()


def count(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1


def mail_for(addr, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in outbox.glob("*.eml"):
            try:  # another thread may have taken it meanwhile
                data = f.read_bytes()
            except FileNotFoundError:
                continue
            m = email.message_from_bytes(data, policy=email.policy.default)
            if addr in str(m["To"]):
                f.unlink(missing_ok=True)  # keeps the folder small
                return m
        time.sleep(0.05)
    return None


def sign_in(addr):
    r = c.post("/v1/auth/email/start", json={"email": addr})
    count(f"start_{r.status}")
    if r.status != 202:
        return None
    m = mail_for(addr)
    if m is None:
        count("mail_missing")
        return None
    _, _, code = mail_link_and_code(m)
    r = c.post("/v1/auth/email/verify-code",
               json={"flow_id": r.json()["flow_id"], "code": code})
    count(f"verify_{r.status}")
    return r.json() if r.status == 200 else None


def user_loop(tid):
    i = 0
    while time.monotonic() < end:
        i += 1
        try:
            t = sign_in(f"soak-{tid}-{i % 50}@example.com")
            for _ in range(5):
                if t is None or time.monotonic() >= end:
                    break
                h = {"Authorization": "Bearer " + t["access_token"]}
                count(f"session_{c.get('/v1/session', headers=h).status}")
                r = c.post("/v1/token/refresh",
                           json={"refresh_token": t["refresh_token"]})
                count(f"refresh_{r.status}")
                t = r.json() if r.status == 200 else None
                time.sleep(0.2)
        except Exception as e:  # keep soaking; the count shows it
            count("error_" + type(e).__name__)
            time.sleep(0.5)


def probe_loop():
    while time.monotonic() < end:
        try:
            count(f"liveness_{c.get('/liveness').status}")
        except Exception as e:
            count("error_" + type(e).__name__)
        time.sleep(0.1)


threads = [threading.Thread(target=user_loop, args=(i,)) for i in range(4)]
threads.append(threading.Thread(target=probe_loop))
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(counts, sort_keys=True))
