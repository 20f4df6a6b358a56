"""Security review #11, the rest of the medium and low items, over the real
binary: refresh-token successors kept only for the grace window and files
owner-only (Medium 5), a per-IP connection cap (Medium 6), the public-metrics
warning, the rate limiter's timeout decision, and the admin IP-rule
self-lockout guard."""
import os
import pathlib
import socket
import stat
import subprocess

import db_access
from conftest import BINARY, metric, wait_until
from pa_flows import outbox_files, sign_in

ADMIN = "bootstrap-admin-key-for-tests-0123456789"


def adm():
    return {"Authorization": "Bearer " + ADMIN}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class umask:
    """Runs the block (and the processes it starts) under this umask."""

    def __init__(self, mask):
        self.mask = mask

    def __enter__(self):
        self.old = os.umask(self.mask)

    def __exit__(self, *exc):
        os.umask(self.old)


# -- Medium 5: live refresh tokens cannot be read back -------------------------

def test_rotated_successor_is_erased_after_the_grace_window(start_server):
    s = start_server(env={"PA_TOKENS_REFRESH_GRACE": "1"})
    c = s.client
    t0 = sign_in(s, "rhea@example.com")
    r1 = c.post("/v1/token/refresh", json={"refresh_token": t0["refresh_token"]})
    assert r1.status == 200, r1
    conn = db_access.connect(s.workdir / "auth.db", isolation_level=None)

    def kept():
        return conn.execute(
            "SELECT COUNT(*) FROM refresh_tokens WHERE replaced_at IS NOT NULL "
            "AND successor_enc IS NOT NULL AND length(successor_enc) > 0").fetchone()[0]

    # The rotated row exists; once the window is over the encrypted successor
    # (the live refresh token under the master key) is gone from the file.
    assert conn.execute("SELECT COUNT(*) FROM refresh_tokens WHERE replaced_at IS NOT NULL"
                        ).fetchone()[0] == 1
    wait_until(lambda: kept() == 0, timeout=10, what="the successor to be erased")
    # Past the window the old token is a reuse, never the successor again.
    again = c.post("/v1/token/refresh", json={"refresh_token": t0["refresh_token"]})
    assert again.status == 401 and again.json()["error"]["code"] == "refresh_token_reused"


def test_database_key_and_outbox_are_owner_only_whatever_the_umask(start_server, tmp_path):
    no_key = {"PA_AUTH_SECRET_KEY": ""}  # generated: secret.key beside the DB
    with umask(0o022):
        s = start_server(env=no_key, workdir=tmp_path / "fresh")
        sign_in(s, "ursa@example.com")
        files = outbox_files(s)
    w = s.workdir
    # On PostgreSQL the data is the server's, not files of ours.
    db_files = [] if db_access.on_postgres() else [
        "auth.db", "auth.db-wal", "auth.db-shm"]
    for name in db_files + ["secret.key"]:
        assert mode(w / name) == 0o600, (name, oct(mode(w / name)))
    assert mode(w / "outbox") == 0o700
    assert files and all(mode(f) == 0o600 for f in files)
    s.stop()
    # Files left readable by an older version are tightened at the next start.
    for name in ["auth.db", "auth.db-wal", "auth.db-shm", "secret.key"]:
        if (w / name).exists():
            os.chmod(w / name, 0o644)
    os.chmod(w / "outbox", 0o755)
    for f in files:
        os.chmod(f, 0o644)
    with umask(0o022):
        s2 = start_server(env=no_key, workdir=w)
    for name in ["auth.db", "auth.db-wal", "auth.db-shm", "secret.key"]:
        if (w / name).exists():
            assert mode(w / name) == 0o600, (name, oct(mode(w / name)))
    wait_until(lambda: mode(w / "outbox") == 0o700, what="the outbox to be tightened")
    assert all(mode(f) == 0o600 for f in files)
    s2.stop()


def check_config(env):
    base = {"PATH": os.environ["PATH"]}
    return subprocess.run([BINARY, "check-config"], env={**base, **env},
                          capture_output=True, text=True)


def test_check_config_warns_when_the_key_file_sits_beside_the_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    beside = data / "master.key"
    beside.write_text("m" * 48 + "\n")
    away = tmp_path / "secrets" / "master.key"
    away.parent.mkdir()
    away.write_text("m" * 48 + "\n")
    db = str(data / "auth.db")
    r = check_config({"PA_DATABASE_PATH": db, "PA_AUTH_SECRET_KEY_FILE": str(beside)})
    assert r.returncode == 0, r.stderr
    assert "same directory as the database" in r.stderr, r.stderr
    r = check_config({"PA_DATABASE_PATH": db, "PA_AUTH_SECRET_KEY_FILE": str(away)})
    assert r.returncode == 0, r.stderr
    assert "same directory as the database" not in r.stderr, r.stderr
    # No key at all: one is generated into secret.key beside the database.
    r = check_config({"PA_DATABASE_PATH": db})
    assert r.returncode == 0, r.stderr
    assert "same directory as the database" in r.stderr, r.stderr


# -- Medium 6: one client cannot hold all connections --------------------------

def half_sent(port, source):
    """A connection from `source` that sent part of a request head."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /liveness HTTP/1.1\r\nHost: x\r\n")
    return sock


def closed_by_server(sock):
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def finish(sock):
    sock.sendall(b"Connection: close\r\n\r\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_connections_per_ip_are_capped_and_others_are_still_served(start_server):
    # The global cap alone (6) would let 127.0.0.2 take every slot.
    s = start_server(env={"PA_SERVER_MAX_CONNECTIONS_PER_IP": "4",
                          "PA_SERVER_MAX_CONNECTIONS": "6"})
    held = [half_sent(s.port, "127.0.0.2") for _ in range(4)]
    over = [half_sent(s.port, "127.0.0.2") for _ in range(4)]
    try:
        for sock in over:
            assert closed_by_server(sock)
        r = s.client.get("/liveness")
        assert r.status == 200
        # The ones under the cap were kept: they finish their requests.
        for sock in held:
            assert finish(sock).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held + over:
            sock.close()


def test_trusted_proxies_are_exempt_from_the_per_ip_cap(start_server):
    s = start_server(env={"PA_SERVER_MAX_CONNECTIONS_PER_IP": "2",
                          "PA_SERVER_TRUSTED_PROXIES": "127.0.0.3/32"})
    socks = [half_sent(s.port, "127.0.0.3") for _ in range(5)]
    try:
        for sock in socks:
            assert finish(sock).startswith(b"HTTP/1.1 200")
    finally:
        for sock in socks:
            sock.close()


# -- Low: /metrics public off loopback -----------------------------------------

def test_public_metrics_off_loopback_are_warned_about(start_server):
    wide = start_server(env={"PA_SERVER_HOST": "0.0.0.0"})
    ev = wide.wait_event("metrics-public")
    assert ev["host"] == "0.0.0.0"
    loop = start_server()
    guarded = start_server(env={"PA_SERVER_HOST": "0.0.0.0",
                                "PA_METRICS_TOKEN": "metrics-token-0123456789"})
    # Both are listening, and the warning is logged before http-listening.
    assert loop.events("metrics-public") == []
    assert guarded.events("metrics-public") == []


# -- Low: the rate limiter's timeout is a decision -----------------------------

def verify_code(c):
    return c.post("/v1/auth/email/verify-code",
                  json={"flow_id": "00000000-0000-4000-8000-000000000000", "code": "123456"})


def test_limiter_timeout_fails_closed_or_open_as_configured(start_server):
    # A zero wait makes every limiter answer late: the timeout path, for real.
    closed = start_server(env={"PA_RATE_LIMIT_TIMEOUT": "0",
                               "PA_RATE_LIMIT_ON_TIMEOUT": "closed"})
    r = verify_code(closed.client)
    assert r.status == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert r.header("retry-after") == "1"
    assert closed.client.get("/v1/session").status == 503  # every class
    assert metric(closed, "rate_limit_timeouts_total", 'outcome="refused"') == 2
    assert metric(closed, "rate_limit_timeouts_total", 'outcome="allowed"') == 0

    opened = start_server(env={"PA_RATE_LIMIT_TIMEOUT": "0",
                               "PA_RATE_LIMIT_ON_TIMEOUT": "open"})
    r = verify_code(opened.client)
    assert r.status == 400, r  # through to the handler: an unknown flow
    assert metric(opened, "rate_limit_timeouts_total", 'outcome="allowed"') == 1
    assert metric(opened, "rate_limit_timeouts_total", 'outcome="refused"') == 0


def test_limiter_timeout_default_closes_sign_in_classes_only(start_server):
    s = start_server(env={"PA_RATE_LIMIT_TIMEOUT": "0"})
    r = verify_code(s.client)
    assert r.status == 503, r
    assert s.client.get("/v1/session").status == 401  # global ceiling only: through
    assert metric(s, "rate_limit_timeouts_total", 'outcome="refused"') == 1
    assert metric(s, "rate_limit_timeouts_total", 'outcome="allowed"') == 1


# -- Low: an admin cannot lock themselves out by accident ----------------------

def test_ip_rules_that_would_block_the_caller_need_force(start_server):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    c = s.client
    r = c.post("/v1/admin/ip-filters", json={"cidr": "127.0.0.0/8", "action": "deny"},
               headers=adm())
    assert r.status == 409, r
    err = r.json()["error"]
    assert err["code"] == "would_lock_out_caller"
    assert err["details"]["client_ip"] == "127.0.0.1"
    assert err["request_id"] == r.header("x-request-id")
    # An allow list that leaves the caller out is a lockout too.
    r = c.post("/v1/admin/ip-filters", json={"cidr": "10.0.0.0/8", "action": "allow"},
               headers=adm())
    assert r.status == 409 and r.json()["error"]["code"] == "would_lock_out_caller"
    assert c.get("/v1/admin/ip-filters", headers=adm()).json()["ip_filters"] == []
    # Allowing the caller first makes the second allow rule harmless...
    mine = c.post("/v1/admin/ip-filters", json={"cidr": "127.0.0.1", "action": "allow"},
                  headers=adm())
    assert mine.status == 201, mine
    assert c.post("/v1/admin/ip-filters", json={"cidr": "10.0.0.0/8", "action": "allow"},
                  headers=adm()).status == 201
    # ...and deleting the caller's own allow rule is refused in turn.
    r = c.delete(f"/v1/admin/ip-filters/{mine.json()['id']}", headers=adm())
    assert r.status == 409 and r.json()["error"]["code"] == "would_lock_out_caller"
    assert c.get(f"/v1/admin/ip-filters/{mine.json()['id']}", headers=adm()).status == 200
    # A bad force value is a validation error, not a lockout.
    r = c.post("/v1/admin/ip-filters",
               json={"cidr": "127.0.0.0/8", "action": "deny", "force": "yes"}, headers=adm())
    assert r.status == 422 and "force" in r.json()["error"]["details"]
    # With force the operator gets what they asked for.
    r = c.post("/v1/admin/ip-filters",
               json={"cidr": "127.0.0.0/8", "action": "deny", "force": True}, headers=adm())
    assert r.status == 201, r
    assert c.get("/v1/admin/ip-filters", headers=adm()).status == 403
