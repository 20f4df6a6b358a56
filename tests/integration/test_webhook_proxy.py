"""Webhook deliveries never go through a proxy from the environment.

libcurl honours http_proxy / https_proxy / all_proxy by default. A proxy
would connect to the receiver itself, after our address check and around
the pinned address, so a delivery through it escapes the SSRF rules. The
test runs on loopback only: the receiver is allowed as a private target,
and a second loopback listener stands in for the proxy. The delivery must
reach the receiver directly and the proxy must see no connection at all.
"""
import socket
import threading

from conftest import WEBHOOK_SCANS, wait_scans, wait_until
from pa_flows import sign_in
from test_webhooks import ADM, WEBHOOK_ENV, Receiver, create_endpoint, deliveries


class Proxy:
    """A listener that records every connection and answers 502."""

    def __init__(self):
        self.connections = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    self.connections.append(b"")

    def stop(self):
        self.sock.close()


def test_a_delivery_ignores_proxy_variables(start_server):
    rx = Receiver()
    proxy = Proxy()
    env = dict(WEBHOOK_ENV)
    for name in ("http_proxy", "https_proxy", "all_proxy",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = proxy.url
    env["no_proxy"] = env["NO_PROXY"] = ""
    s = start_server(env=env)
    ep = create_endpoint(s.client, rx.port)
    sign_in(s, "proxy@example.com")
    reqs = rx.wait(lambda r: len(r) == 1)
    assert reqs[0][0]["webhook-id"].startswith("msg_")
    wait_until(lambda: [d["status"] for d in deliveries(s)] == ["succeeded"],
               what="the delivery recorded as a success")
    wait_scans(s, WEBHOOK_SCANS)
    assert proxy.connections == []
    d = s.client.get(f"/v1/admin/webhooks/{ep['id']}/deliveries", headers=ADM).json()
    assert d["deliveries"][0]["attempts"] == 1
    proxy.stop()
    rx.stop()
