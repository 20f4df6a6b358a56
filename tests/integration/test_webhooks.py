"""Signed webhooks delivered to a real HTTP receiver started by the test."""
import base64
import hashlib
import hmac
import http.server
import json
import socket
import sqlite3
import threading
import time

import pytest

import db_access
from conftest import WEBHOOK_SCANS, wait_scans, wait_until
from pa_flows import sign_in

ADMIN = "bootstrap-admin-key-for-tests-0123456789"
ADM = {"Authorization": "Bearer " + ADMIN}


def verify_standard_webhook(secret, headers, body):
    """An independent Standard Webhooks verifier (hmac + base64 from stdlib)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    sigs = headers["webhook-signature"].split(" ")
    return any(hmac.compare_digest(expected, s) for s in sigs) and abs(time.time() - int(ts)) < 300


class Receiver:
    """A real HTTP server; `plan` lists what to answer (int status or 'hang')."""

    def __init__(self, port=0):
        self.requests = []
        self.plan = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    action = outer.plan.pop(0) if outer.plan else 204
                    outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, action))
                if action == "hang":
                    time.sleep(2)
                    action = 200
                self.send_response(action)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if pred(self.requests):
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"receiver saw {len(self.requests)} requests")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


WEBHOOK_ENV = {"PA_ADMIN_API_KEY": ADMIN, "PA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
               "PA_WEBHOOKS_RETRY_FIRST_DELAY": "1", "PA_WEBHOOKS_POLL_INTERVAL": "0.2",
               "PA_WEBHOOKS_TIMEOUT": "0.5"}


def deliveries(server):
    with db_access.connect(server.workdir / "auth.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(
            "SELECT id, status, attempts, last_error FROM webhook_deliveries")]


def create_endpoint(c, port, types=("session.created",)):
    r = c.post("/v1/admin/webhooks", headers=ADM,
               json={"url": f"http://127.0.0.1:{port}/hook", "event_types": list(types)})
    assert r.status == 201, r
    assert r.header("cache-control") == "no-store"
    return r.json()


def test_signed_delivery_with_retries_after_500_and_timeout(start_server):
    rx = Receiver()
    rx.plan = [500, "hang", 200]
    s = start_server(env=WEBHOOK_ENV)
    ep = create_endpoint(s.client, rx.port)
    assert ep["secret"].startswith("whsec_")
    listed = s.client.get(f"/v1/admin/webhooks/{ep['id']}", headers=ADM).json()
    assert "secret" not in listed
    t = sign_in(s, "hook@example.com")
    reqs = rx.wait(lambda r: any(a == 200 for _, _, a in r))
    assert len(reqs) == 3
    ids = {h["webhook-id"] for h, _, _ in reqs}
    assert len(ids) == 1  # the same message, retried
    for h, body, _ in reqs:
        assert verify_standard_webhook(ep["secret"], h, body)
        assert not verify_standard_webhook("whsec_" + base64.b64encode(b"x" * 32).decode(), h, body)
    payload = json.loads(reqs[-1][1])
    assert payload["type"] == "session.created"
    assert payload["data"]["user_id"] == t["user"]["id"] and "timestamp" in payload
    assert t["refresh_token"] not in reqs[-1][1].decode()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        d = s.client.get(f"/v1/admin/webhooks/{ep['id']}/deliveries", headers=ADM).json()["deliveries"]
        if d and d[0]["status"] == "succeeded":
            break
        time.sleep(0.1)
    assert d[0]["status"] == "succeeded" and d[0]["attempts"] == 3 and d[0]["last_status_code"] == 200
    # Only the subscribed type was sent; 2xx other than 200 also count as success.
    rx.plan = [202]
    sign_in(s, "hook@example.com")
    rx.wait(lambda r: len(r) == 4)
    wait_until(lambda: [d["status"] for d in deliveries(s)] == ["succeeded"] * 2,
               what="the 202 recorded as a success")
    wait_scans(s, WEBHOOK_SCANS)
    assert len(rx.requests) == 4  # no duplicate after a 202
    rx.stop()


def test_receiver_down_across_a_restart_gets_everything_once(start_server, tmp_path):
    port = free_port()
    work = tmp_path / "wh"
    s = start_server(workdir=work, env=WEBHOOK_ENV)
    create_endpoint(s.client, port)
    users = [sign_in(s, f"u{i}@example.com")["user"]["id"] for i in range(3)]
    wait_until(lambda: len([d for d in deliveries(s) if d["last_error"]]) == 3,
               what="every delivery failed once")
    assert s.stop() == 0
    s2 = start_server(workdir=work, env=WEBHOOK_ENV)
    rx = Receiver(port)
    reqs = rx.wait(lambda r: len({json.loads(b)["data"]["user_id"] for _, b, _ in r}) == 3, timeout=30)
    wait_until(lambda: [d["status"] for d in deliveries(s2)] == ["succeeded"] * 3,
               what="every delivery recorded as a success")
    wait_scans(s2, WEBHOOK_SCANS)
    ids = [h["webhook-id"] for h, _, _ in rx.requests]
    assert len(ids) == len(set(ids)) == 3
    assert {json.loads(b)["data"]["user_id"] for _, b, _ in reqs} == set(users)
    rx.stop()
    s2.stop()


def test_ssrf_rules(start_server):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    for url in ["http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://[::1]/x",
                "http://169.254.169.254/latest", "ftp://example.com/x", "not a url"]:
        r = s.client.post("/v1/admin/webhooks", headers=ADM, json={"url": url})
        assert r.status == 422, url
    # A host name that resolves to loopback is refused at delivery time.
    r = s.client.post("/v1/admin/webhooks", headers=ADM,
                      json={"url": "http://localhost:9/x", "event_types": ["*"]})
    assert r.status == 201
    sign_in(s, "ssrf@example.com")
    ep = r.json()["id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        d = s.client.get(f"/v1/admin/webhooks/{ep}/deliveries", headers=ADM).json()["deliveries"]
        if d and d[-1]["last_error"]:
            break
        time.sleep(0.1)
    assert "not allowed" in d[-1]["last_error"]
    assert s.client.delete(f"/v1/admin/webhooks/{ep}", headers=ADM).status == 204
    assert s.client.get(f"/v1/admin/webhooks/{ep}/deliveries", headers=ADM).status == 404
