"""The service skeleton over real HTTP: limits, errors, middleware, operations
routes, migrations, configuration and shutdown."""
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import db_access
from conftest import BINARY, Server, skip_on_postgres
from pa_client import Client, gunzip, parse_raw_responses

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def assert_security_headers(r):
    for k, v in SECURITY_HEADERS.items():
        assert r.header(k) == v, (k, r.headers)
    assert "permissions-policy" in r.headers
    assert "content-security-policy" in r.headers
    assert "strict-transport-security" not in r.headers  # plain HTTP
    assert r.header("x-request-id")


def assert_error(r, status, code):
    assert r.status == status, r
    assert r.header("content-type").startswith("application/json")
    body = r.json()
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == r.header("x-request-id")
    assert body["error"]["message"]
    assert_security_headers(r)


def test_liveness_health_and_readiness(server):
    r = server.client.get("/liveness")
    assert r.status == 200 and r.json() == {"status": "alive"}
    assert_security_headers(r)
    h = server.client.get("/health").json()
    assert h["status"] == "ok" and h["checks"]["database"] == "ok"
    assert h["version"] and isinstance(h["uptime_seconds"], int)
    assert server.client.get("/readiness").json() == {"status": "ready"}


def test_request_id_is_echoed_when_well_formed_and_generated_otherwise(server):
    c = server.client
    r = c.get("/liveness", headers={"X-Request-ID": "abc.DEF_123-x"})
    assert r.header("x-request-id") == "abc.DEF_123-x"
    for bad in ["has space", "x" * 129, "semi;colon", "<script>"]:
        r = c.get("/nope", headers={"X-Request-ID": bad})
        rid = r.header("x-request-id")
        assert rid and rid != bad
        assert r.json()["error"]["request_id"] == rid
    a = c.get("/liveness").header("x-request-id")
    b = c.get("/liveness").header("x-request-id")
    assert a != b
    # The access log carries the same id, the route template and no query.
    c.get("/liveness?token=SECRET-IN-QUERY", headers={"X-Request-ID": "trace-me"})
    ev = server.wait_event("request", pred=lambda e: e.get("request_id") == "trace-me")
    assert ev["route"] == "/liveness" and ev["status"] == 200
    assert "SECRET-IN-QUERY" not in "\n".join(server.lines)


def test_unknown_route_and_wrong_method(server):
    assert_error(server.client.get("/v1/does-not-exist"), 404, "not_found")
    r = server.client.post("/liveness", json={})
    assert_error(r, 405, "method_not_allowed")
    assert set(x.strip() for x in r.header("allow").split(",")) == {"GET", "HEAD"}


def test_head_returns_headers_only(server):
    raw = server.client.raw(b"HEAD /liveness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert b"Content-Length: 18" in head
    assert body == b""


def test_oversized_body_gets_413(start_server):
    s = start_server(args=["--set", "server.max_body_bytes=2048"])
    r = s.client.post("/liveness", body=b"x" * 5000,
                      headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    # The default limit is 64 KiB.
    s2 = start_server()
    r = s2.client.post("/liveness", body=b"{" + b" " * (70 * 1024) + b"}",
                       headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_oversized_headers_get_431(server):
    r = server.client.get("/liveness", headers={"X-Big": "a" * 20000})
    assert_error(r, 431, "header_too_large")


def test_malformed_request_gets_400(server):
    raw = server.client.raw(b"GET /liveness HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
    (status, headers, body), = parse_raw_responses(raw)
    assert status == 400
    assert b'"bad_request"' in body
    assert headers["x-content-type-options"] == "nosniff"


def test_slow_client_is_disconnected_and_others_are_served(start_server):
    s = start_server(args=["--set", "server.header_timeout=0.3"])
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    sock.sendall(b"GET /liveness HTTP/1.1\r\nHost: x\r\n")  # never finishes
    t0 = time.monotonic()
    # Meanwhile a normal client is served at once.
    assert s.client.get("/liveness").status == 200
    data = sock.recv(100)  # the server closes the connection
    elapsed = time.monotonic() - t0
    assert data == b""
    assert elapsed < 3
    sock.close()


def test_keep_alive_and_pipelining_answer_in_order(server):
    reqs = b"".join(
        f"GET /liveness HTTP/1.1\r\nHost: x\r\nX-Request-ID: p{i}\r\n\r\n".encode()
        for i in range(5))
    reqs += b"GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-ID: p5\r\nConnection: close\r\n\r\n"
    out = parse_raw_responses(server.client.raw(reqs))
    assert [h["x-request-id"] for _, h, _ in out] == [f"p{i}" for i in range(6)]
    assert [s for s, _, _ in out] == [200] * 5 + [404]


def test_response_framing_follows_the_request_version(start_server):
    # The transport writes the response head itself (not through Beast):
    # status line, Content-Length and Connection as Beast would set them.
    s = start_server(env={"PA_SERVER_CORS_ORIGINS": "https://app.example.com"})
    # HTTP/1.0 without keep-alive: a 1.0 answer, then the server closes.
    raw = s.client.raw(b"GET /liveness HTTP/1.0\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.0 200 OK"
    assert b"Content-Length: %d" % len(body) in lines
    assert not any(l.lower().startswith(b"connection:") for l in lines)
    assert body == b'{"status":"alive"}'
    # HTTP/1.0 asking for keep-alive gets it, and the connection serves a
    # second (1.1, closing) request: every answer once, in order.
    out = parse_raw_responses(s.client.raw(
        b"GET /liveness HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
        b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert [st for st, _, _ in out] == [200, 404]
    assert out[0][1]["connection"] == "keep-alive"
    assert out[1][1]["connection"] == "close"
    assert out[1][1]["content-length"] == str(len(out[1][2]))
    # 204 carries no Content-Length (RFC 9110 §8.6), and every header once.
    raw = s.client.raw(b"OPTIONS /health HTTP/1.1\r\nHost: x\r\n"
                       b"Origin: https://app.example.com\r\n"
                       b"Access-Control-Request-Method: GET\r\n"
                       b"Connection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 204 No Content"
    names = [l.split(b":")[0].lower() for l in lines[1:]]
    assert b"content-length" not in names and body == b""
    assert len(names) == len(set(names))
    assert names.count(b"x-content-type-options") == 1


def test_cors_preflight_allowed_and_denied(start_server):
    s = start_server(env={"PA_SERVER_CORS_ORIGINS": "https://app.example.com, https://admin.example.com"})
    c = s.client
    r = c.request("OPTIONS", "/health", headers={
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert r.status == 204
    assert r.header("access-control-allow-origin") == "https://app.example.com"
    assert "GET" in r.header("access-control-allow-methods")
    assert "access-control-allow-credentials" not in r.headers
    assert "Origin" in r.header("vary")
    assert_security_headers(r)
    r = c.request("OPTIONS", "/health", headers={
        "Origin": "https://evil.example.com",
        "Access-Control-Request-Method": "GET"})
    assert_error(r, 403, "cors_denied")
    assert "access-control-allow-origin" not in r.headers
    # Actual requests: the allowed origin is echoed, others get nothing.
    r = c.get("/liveness", headers={"Origin": "https://admin.example.com"})
    assert r.header("access-control-allow-origin") == "https://admin.example.com"
    r = c.get("/liveness", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in r.headers


def test_gzip_when_accepted(server):
    r = server.client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200
    assert r.header("content-encoding") == "gzip"
    assert "Accept-Encoding" in r.header("vary")
    assert b"# TYPE http_requests_total counter" in gunzip(r.body)
    r = server.client.get("/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in r.headers
    r = server.client.get("/liveness", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in r.headers  # too small to be worth it


def test_metrics_pass_promtool_and_use_route_templates(server, tmp_path):
    c = server.client
    c.get("/liveness")
    c.get("/no/such/path/12345")
    r = c.get("/metrics")
    assert r.header("content-type").startswith("text/plain; version=0.0.4")
    text = r.text
    path = tmp_path / "metrics.txt"
    path.write_text(text)
    res = subprocess.run(["promtool", "check", "metrics"], stdin=open(path),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in ["http_requests_total", "http_request_duration_seconds_bucket",
                 "db_query_duration_seconds", "process_resident_memory_bytes",
                 "process_cpu_seconds_total", "process_start_time_seconds",
                 "process_open_fds", "auth_attempts_total", "emails_sent_total",
                 "emails_failed_total", "token_refreshes_total",
                 "sessions_created_total", "sessions_revoked_total",
                 "active_sessions", "rate_limit_hits_total"]:
        assert name in text, name
    assert 'route="/liveness"' in text
    assert 'route="unmatched"' in text
    assert "12345" not in text  # raw paths never become labels
    for le in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"]:
        assert f'http_request_duration_seconds_bucket{{method="GET",route="/liveness",le="{le}"}}' in text


def test_metrics_token_protects_metrics(start_server):
    s = start_server(env={"PA_METRICS_TOKEN": "scrape-token-123"})
    assert_error(s.client.get("/metrics"), 401, "unauthorized")
    assert_error(s.client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    r = s.client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert r.status == 200


@skip_on_postgres("another process holding SQLite's write lock at start")
def test_readiness_waits_for_migrations(start_server, tmp_path):
    work = tmp_path / "locked"
    work.mkdir()
    db = db_access.connect(work / "auth.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    db.execute("CREATE TABLE IF NOT EXISTS t(x)")
    s = start_server(workdir=work, wait_ready=False,
                     env={"PA_DATABASE_BUSY_TIMEOUT_MS": "50"})
    r = s.client.get("/readiness")
    assert r.status == 503
    assert s.client.get("/health").json()["status"] == "degraded"
    assert s.client.get("/liveness").status == 200
    db.execute("ROLLBACK")
    db.close()
    s.wait_ready(timeout=10)
    assert s.client.get("/readiness").status == 200


def test_restart_applies_no_migration_twice(start_server, tmp_path):
    work = tmp_path / "restart"
    s = start_server(workdir=work)
    first = s.wait_event("migrations-applied")
    assert first["applied"]
    assert s.stop() == 0
    s2 = start_server(workdir=work)
    second = s2.wait_event("migrations-applied")
    assert second["applied"] == []
    assert second["schema_version"] == first["schema_version"]
    db = db_access.connect(work / "auth.db")
    rows = db.execute("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version").fetchall()
    assert rows and all(n == 1 for _, n in rows)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in ["users", "sessions", "refresh_tokens", "email_flows", "mail_jobs",
              "webauthn_credentials", "webauthn_challenges", "totp", "audit_logs",
              "ip_filters", "failed_attempts", "system_config"]:
        assert t in tables
    if not db_access.on_postgres():  # SQLite's journal mode
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sigterm_lets_in_flight_request_finish(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    body = b"x" * 100
    sock.sendall(b"GET /liveness HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + body[:10])
    time.sleep(0.2)
    server.proc.send_signal(signal.SIGTERM)
    server.wait_event("shutdown-started")
    # New connections are refused once draining started.
    refused = False
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        except ConnectionRefusedError:
            refused = True
            break
        time.sleep(0.02)
    assert refused
    sock.sendall(body[10:])
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    (status, headers, payload), = parse_raw_responses(data)
    assert status == 200 and b"alive" in payload
    assert headers.get("connection") == "close"
    assert server.proc.wait(timeout=15) == 0
    server.wait_event("stopped")


def test_idle_keep_alive_connection_is_closed_on_sigterm(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /liveness HTTP/1.1\r\nHost: x\r\n\r\n")
    first = sock.recv(65536)
    assert b"200 OK" in first
    server.proc.send_signal(signal.SIGTERM)
    assert sock.recv(100) == b""
    assert server.proc.wait(timeout=15) == 0


def test_binary_starts_with_no_config_at_all(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.Popen([BINARY], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        listening = None
        deadline = time.monotonic() + 20
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if '"http-listening"' in line:
                listening = line
                break
        assert listening and '"port":3000' in listening, "".join(lines)
        c = Client("http://127.0.0.1:3000")
        for _ in range(200):
            if c.get("/readiness").status == 200:
                break
            time.sleep(0.02)
        assert c.get("/health").json()["status"] == "ok"
        assert (tmp_path / "data" / "auth.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_check_config_redacts_secrets_and_bad_values_exit_2(tmp_path):
    env = {"PATH": os.environ["PATH"], "PA_SMTP_PASSWORD": "hunter2-smtp",
           "PA_SERVER_PORT": "3111", "PA_AUTH_SECRET_KEY": "k" * 40}
    cfg = tmp_path / "config.toml"
    cfg.write_text('[server]\nport = 3001\nhost = "127.0.0.1"\n[log]\nlevel = "debug"\n')
    r = subprocess.run([BINARY, "--config", str(cfg), "check-config",
                        "--set", "log.format=text"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "hunter2" not in r.stdout and "kkkk" not in r.stdout
    assert 'password = "<redacted>"' in r.stdout
    assert "port = 3111" in r.stdout  # env beats file
    assert 'format = "text"' in r.stdout  # flag beats env and file
    assert 'level = "debug"' in r.stdout
    for bad_env, key in [({"PA_SERVER_PORT": "70000"}, "server.port"),
                         ({"PA_TOKENS_ACCESS_TTL": "soon"}, "tokens.access_ttl"),
                         ({"PA_LOG_FORMAT": "xml"}, "log.format"),
                         ({"PA_SERVER_TRUSTED_PROXIES": "10.0.0.0/99"}, "server.trusted_proxies")]:
        r = subprocess.run([BINARY, "check-config"], env={**env, **bad_env},
                           capture_output=True, text=True)
        assert r.returncode == 2, (bad_env, r.stdout, r.stderr)
        assert key in r.stderr
    cfg.write_text('[smtp]\npassword = "in-the-file"\n')
    r = subprocess.run([BINARY, "--config", str(cfg), "check-config"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "smtp.password" in r.stderr
    cfg.write_text('[server]\nprot = 1\n')
    r = subprocess.run([BINARY, "--config", str(cfg), "check-config"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "server.prot" in r.stderr
    r = subprocess.run([BINARY, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("passwordless-auth ")


def test_trusted_proxy_header_and_ip_filter(start_server):
    s = start_server(env={"PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32",
                          "PA_SERVER_IP_DENY": "203.0.113.0/24"})
    c = s.client
    r = c.get("/v1/x", headers={"X-Forwarded-For": "203.0.113.9"})
    assert_error(r, 403, "forbidden")
    # Operations routes are exempt by default.
    assert c.get("/liveness", headers={"X-Forwarded-For": "203.0.113.9"}).status == 200
    r = c.get("/v1/x", headers={"X-Forwarded-For": "198.51.100.1"})
    assert r.status == 404
    # HSTS only when the trusted proxy says the client used HTTPS.
    r = c.get("/liveness", headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"})
    assert "strict-transport-security" in r.headers
    s2 = start_server(env={"PA_SERVER_IP_DENY": "203.0.113.0/24"})
    # Untrusted peer: the header is ignored, so it cannot get itself blocked
    # or unblocked, nor claim HTTPS.
    r = s2.client.get("/v1/x", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert r.status == 404 and "strict-transport-security" not in r.headers


def test_tls_termination_with_hsts(start_server, tmp_path):
    import http.client
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    s = start_server(env={"PA_SERVER_TLS_CERT": str(cert), "PA_SERVER_TLS_KEY": str(key)},
                     wait_ready=False)
    ctx = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 10
    while True:
        conn = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=5)
        conn.request("GET", "/readiness")
        r = conn.getresponse()
        r.read()
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    conn = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=5)
    conn.request("GET", "/liveness")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b'{"status":"alive"}'
    assert r.getheader("Strict-Transport-Security", "").startswith("max-age=")
    # Plain HTTP on the TLS port gets no HTTP answer.
    raw = s.client.raw(b"GET /liveness HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
    assert b"HTTP/1.1 200" not in raw
    # A bad certificate path stops the start with a clear message.
    bad = subprocess.run([BINARY, "--set", "server.port=0"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=20,
                         env={"PATH": os.environ["PATH"], "PA_SERVER_TLS_CERT": "/nonexistent.pem",
                              "PA_SERVER_TLS_KEY": str(key), "PA_DATABASE_PATH": str(tmp_path / "x.db")})
    assert bad.returncode != 0 and "tls_cert" in (bad.stdout + bad.stderr)
