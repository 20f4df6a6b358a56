"""The service on PostgreSQL (issue 14, first part): a real PostgreSQL 15
server started by the test (tests/tools/pg_server.py), the binary pointed at
it with PA_DATABASE_URL, and the data checked in PostgreSQL itself."""
import os
import pathlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BINARY, metric, wait_until
from pa_flows import bearer, sign_in

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
from pg_server import PgServer  # noqa: E402


@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        yield server


_db_count = [0]


def fresh_database(pg):
    """A new empty database owned by the service's role; its URL."""
    _db_count[0] += 1
    name = f"it_{os.getpid()}_{_db_count[0]}"
    pg.psql(f"CREATE DATABASE {name} OWNER pa")
    return name, pg.url.rsplit("/", 1)[0] + "/" + name


def test_sign_in_refresh_and_logout_store_in_postgres(pg, start_server):
    name, url = fresh_database(pg)
    server = start_server(env={"PA_DATABASE_URL": url})
    tokens = sign_in(server, "pg-user@example.org")
    c = server.client
    me = c.get("/v1/me", headers=bearer(tokens))
    assert me.status == 200, me
    assert me.json()["email"] == "pg-user@example.org"
    r = c.post("/v1/token/refresh",
               json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200, r
    # The rows are in PostgreSQL, and no SQLite file was made.
    assert pg.psql("SELECT email FROM users", db=name).split() == [
        "pg-user@example.org"]
    assert int(pg.psql("SELECT COUNT(*) FROM refresh_tokens", db=name)) == 2
    assert not (server.workdir / "auth.db").exists()
    r = c.post("/v1/auth/logout", headers=bearer(r.json()))
    assert r.status in (200, 204), r
    assert pg.psql("SELECT revoked_reason IS NOT NULL FROM sessions",
                   db=name).split() == ["t"]
    # The URL (which may hold a password) is not logged.
    assert not any(url in line for line in server.lines)


def test_nodes_starting_together_migrate_once(pg, start_server):
    name, url = fresh_database(pg)
    a = start_server(env={"PA_DATABASE_URL": url}, wait_ready=False)
    b = start_server(env={"PA_DATABASE_URL": url}, wait_ready=False)
    a.wait_ready()
    b.wait_ready()
    versions = pg.psql("SELECT version FROM schema_migrations ORDER BY 1",
                       db=name).split()
    assert versions == [str(v) for v in range(1, len(versions) + 1)]
    assert len(versions) >= 7
    applied = [len(s.wait_event("migrations-applied")["applied"])
               for s in (a, b)]
    assert sorted(applied) == [0, len(versions)]


def test_an_unreachable_database_keeps_the_service_unready(start_server):
    # Nothing listens on port 1; the service starts, stays unready, and
    # does not crash.
    server = start_server(
        env={"PA_DATABASE_URL": "postgresql://pa@127.0.0.1:1/auth"},
        wait_ready=False)
    assert server.client.get("/readiness").status == 503
    assert server.proc.poll() is None


def test_readiness_follows_the_database_and_recovers_without_restart(
        start_server):
    # A server of its own: this test stops it in the middle.
    with PgServer() as pg:
        name, url = fresh_database(pg)
        s = start_server(env={"PA_DATABASE_URL": url})
        sign_in(s, "before@example.org")
        pid = s.proc.pid
        pg.pause()  # postgres stopped by its PID (fast shutdown)
        wait_until(lambda: s.client.get("/readiness").status == 503,
                   timeout=15, what="readiness to go false")
        r = s.client.get("/readiness")
        assert r.json()["status"] == "not_ready", r
        # A write is refused at once with the documented 503, not a 500.
        r = s.client.post("/v1/auth/email/start",
                          json={"email": "during@example.org"})
        assert r.status == 503, r
        err = r.json()["error"]
        assert err["code"] == "service_unavailable" and err["request_id"]
        # A burst of starts (each reads first) gets its 503s at once: one
        # read tries the server, the others are refused without queueing
        # behind its reconnects (~0.4 s each on the one DB actor).
        with ThreadPoolExecutor(max_workers=20) as pool:
            burst = list(pool.map(
                lambda i: s.client.post("/v1/auth/email/start",
                                        json={"email": f"b{i}@example.org"},
                                        timeout=30),
                range(20)))
        assert [r.status for r in burst] == [503] * 20, burst
        assert all(r.json()["error"]["code"] == "service_unavailable"
                   for r in burst)
        refused = metric(s, "db_reads_refused_total", 'reason="unreachable"')
        assert refused >= 10, refused
        assert s.proc.poll() is None
        # Back on the same port and data folder: ready again, same process.
        pg.resume()
        wait_until(lambda: s.client.get("/readiness").status == 200,
                   timeout=20, what="readiness to come back")
        assert s.proc.poll() is None and s.proc.pid == pid
        tokens = sign_in(s, "after@example.org")
        me = s.client.get("/v1/me", headers=bearer(tokens))
        assert me.status == 200 and me.json()["email"] == "after@example.org"
        assert pg.psql("SELECT email FROM users ORDER BY email",
                       db=name).split() == ["after@example.org",
                                            "before@example.org"]


def test_cli_admin_command_uses_postgres_when_the_url_is_set(pg, start_server,
                                                            tmp_path):
    name, url = fresh_database(pg)
    admin = "bootstrap-admin-key-for-tests-0123456789"
    s = start_server(env={"PA_DATABASE_URL": url, "PA_ADMIN_API_KEY": admin})
    env = dict(s.env, PA_DATABASE_PATH=str(tmp_path / "cli" / "auth.db"))
    r = subprocess.run([BINARY, "admin", "create-key", "--name", "pg-ops"],
                       env=env, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("pa_admin_")
    # Stored (hashed) in PostgreSQL, where the running service finds it; no
    # SQLite file was made; the URL is not printed.
    assert pg.psql("SELECT name FROM admin_api_keys", db=name).split() == [
        "pg-ops"]
    assert key not in pg.psql("SELECT key_hash FROM admin_api_keys", db=name)
    assert not (tmp_path / "cli").exists()
    assert url not in r.stdout + r.stderr
    stats = s.client.get("/v1/admin/stats",
                         headers={"Authorization": "Bearer " + key})
    assert stats.status == 200, stats
