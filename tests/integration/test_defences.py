"""Defences over real HTTP: rate limits on the request path, account
lockout, and IP rules from the ip_filters table."""
import time
import uuid

import db_access
from conftest import wait_until
from pa_flows import mail_link_and_code, new_mail, outbox_files, sign_in, start

POLICIES = "verify_per_ip=3/60,email_send_per_address=2/3600,email_send_per_ip=5/3600"


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def wait_audit(server, event_type, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        with db(server) as con:
            rows = con.execute("SELECT ip, metadata FROM audit_logs WHERE event_type = ?",
                               (event_type,)).fetchall()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def bogus_verify(c, headers=None):
    return c.post("/v1/auth/email/verify-code", headers=headers or {},
                  json={"flow_id": "no-such-flow", "code": "123456"})


def assert_rate_limited(r, limit):
    assert r.status == 429, r
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.header("retry-after")) >= 1
    assert r.header("ratelimit-limit") == str(limit)
    assert r.header("ratelimit-remaining") == "0"
    assert int(r.header("ratelimit-reset")) >= 1


def test_verify_limit_hits_at_exactly_the_configured_count(start_server):
    s = start_server(env={"PA_RATE_LIMIT_POLICIES": POLICIES})
    c = s.client
    for remaining in (2, 1, 0):
        r = bogus_verify(c)
        assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"
        assert r.header("ratelimit-limit") == "3"
        assert r.header("ratelimit-remaining") == str(remaining)
    assert_rate_limited(bogus_verify(c), 3)
    # Other route classes keep their own budget.
    assert c.post("/v1/token/refresh", json={"refresh_token": "x"}).status == 401
    assert c.get("/liveness").status == 200
    metrics = c.get("/metrics").text
    assert 'rate_limit_hits_total{type="verify_per_ip"} 1' in metrics
    rows = wait_audit(s, "rate_limit.exceeded")
    assert rows and "verify_per_ip" in rows[0][1]


def test_per_address_send_limit_keys_are_separate(start_server):
    s = start_server(env={"PA_RATE_LIMIT_POLICIES": POLICIES})
    c = s.client
    for _ in range(2):
        assert c.post("/v1/auth/email/start", json={"email": "a@example.org"}).status == 202
    r = c.post("/v1/auth/email/start", json={"email": " A@Example.ORG "})
    assert_rate_limited(r, 2)
    # Another address has its own budget, until the per-IP limit of 5 (the
    # front counts every start request per IP, refused or not).
    assert c.post("/v1/auth/email/start", json={"email": "b@example.org"}).status == 202
    assert c.post("/v1/auth/email/start", json={"email": "c@example.org"}).status == 202
    r = c.post("/v1/auth/email/start", json={"email": "d@example.org"})
    assert_rate_limited(r, 5)
    metrics = c.get("/metrics").text
    assert 'rate_limit_hits_total{type="email_send_per_address"} 1' in metrics
    assert 'rate_limit_hits_total{type="email_send_per_ip"} 1' in metrics


def test_forwarded_for_only_from_trusted_proxies(start_server):
    # Untrusted peer: a spoofed X-Forwarded-For changes nothing.
    s = start_server(env={"PA_RATE_LIMIT_POLICIES": POLICIES})
    for i in range(3):
        assert bogus_verify(s.client, {"X-Forwarded-For": f"198.51.100.{i}"}).status == 400
    assert_rate_limited(bogus_verify(s.client, {"X-Forwarded-For": "198.51.100.99"}), 3)
    # Trusted proxy: each forwarded client has its own budget.
    t = start_server(env={"PA_RATE_LIMIT_POLICIES": POLICIES,
                          "PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32"})
    for i in range(3):
        assert bogus_verify(t.client, {"X-Forwarded-For": "198.51.100.1"}).status == 400
    assert_rate_limited(bogus_verify(t.client, {"X-Forwarded-For": "198.51.100.1"}), 3)
    assert bogus_verify(t.client, {"X-Forwarded-For": "198.51.100.2"}).status == 400
    # IPv6 clients share a budget per /64.
    for i in range(3):
        assert bogus_verify(t.client, {"X-Forwarded-For": f"2001:db8:1:2::{i + 1}"}).status == 400
    assert_rate_limited(bogus_verify(t.client, {"X-Forwarded-For": "2001:db8:1:2:ffff::9"}), 3)
    assert bogus_verify(t.client, {"X-Forwarded-For": "2001:db8:1:3::1"}).status == 400


def test_global_ceiling_and_switching_limits_off(start_server):
    # A forwarded client of its own, so the fixture's readiness polls from
    # loopback do not count.
    s = start_server(env={"PA_RATE_LIMIT_POLICIES": "global_per_ip=5/60",
                          "PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32"})
    xff = {"X-Forwarded-For": "192.0.2.50"}
    statuses = [s.client.get("/v1/nothing", headers=xff).status for _ in range(6)]
    assert statuses == [404] * 5 + [429]
    # One ceiling, whichever routes an address mixes: routes without a class
    # are counted in the fronts, classed ones (a bogus verify) by the limiter
    # actor, in the same counter (issue 13's hot path must not double it).
    mixed = {"X-Forwarded-For": "192.0.2.52"}
    statuses = []
    for i in range(6):
        if i % 2:
            statuses.append(bogus_verify(s.client, mixed).status)
        else:
            statuses.append(s.client.get("/v1/nothing", headers=mixed).status)
    assert statuses == [404, 400, 404, 400, 404, 429], statuses
    # The global ceiling alone sets no RateLimit-* headers on passes.
    assert "ratelimit-limit" not in s.client.get(
        "/v1/nothing", headers={"X-Forwarded-For": "192.0.2.51"}).headers
    # Probes and scrapers are exempt by default, even from a limited address...
    for path in ("/liveness", "/readiness", "/health", "/metrics"):
        assert [s.client.get(path, headers=xff).status for _ in range(6)] == [200] * 6, path
    # ...and limited like everything else when the operator says so.
    strict = start_server(env={"PA_RATE_LIMIT_POLICIES": "global_per_ip=5/60",
                               "PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32",
                               "PA_RATE_LIMIT_EXEMPT_OPS": "false"}, wait_ready=False)
    probe = {"X-Forwarded-For": "192.0.2.60"}
    statuses = [strict.client.get("/liveness", headers=probe).status for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    off = start_server(env={"PA_RATE_LIMIT_POLICIES": POLICIES + ",global_per_ip=5/60",
                            "PA_RATE_LIMIT_ENABLED": "false"})
    for _ in range(8):
        r = bogus_verify(off.client)
        assert r.status == 400 and "ratelimit-limit" not in r.headers


def wrong_code(code):
    return "000000" if code != "000000" else "111111"


def test_email_code_lockout_is_silent_and_expires(start_server):
    s = start_server(env={"PA_AUTH_LOCKOUT_DURATION": "2",
                          "PA_AUTH_CODE_MAX_ATTEMPTS": "100"})
    c = s.client
    addr = "eve@example.org"
    sign_in(s, addr)  # a known account
    seen = {f.name for f in outbox_files(s)}
    flow = start(c, addr)
    link, token, code = mail_link_and_code(new_mail(s, addr, seen))

    def attempt(x):
        return c.post("/v1/auth/email/verify-code",
                      json={"flow_id": flow["flow_id"], "code": x})

    def shape(r):
        e = r.json()["error"]
        return r.status, {k: v for k, v in e.items() if k != "request_id"}

    wrong = [attempt(wrong_code(code)) for _ in range(10)]
    assert all(r.status == 400 for r in wrong)
    # Locked: the right code gets exactly the wrong code's answer.
    assert shape(attempt(code)) == shape(wrong[0])
    assert set(attempt(code).json()["error"]) == set(wrong[0].json()["error"])
    rows = wait_audit(s, "account.locked")
    assert rows and "email_code" in rows[0][1]
    assert 'account_lockouts_total{method="email_code"} 1' in c.get("/metrics").text
    with db(s) as con:
        failures, lockouts, until = con.execute(
            "SELECT failures, lockouts, locked_until FROM failed_attempts "
            "WHERE method = 'email_code'").fetchone()
    assert lockouts == 1 and until > time.time() - 1
    # Links are not locked out by failed codes.
    seen = {f.name for f in outbox_files(s)}
    start(c, addr)
    _, token2, _ = mail_link_and_code(new_mail(s, addr, seen))
    assert c.post("/v1/auth/email/link", json={"token": token2}).status == 200
    # The lock runs out by itself: the right code works again, and not
    # before locked_until (a refused try while locked counts nothing).
    r = wait_until(lambda: (r := attempt(code)).status != 400 and r,
                   timeout=5, what="the lock to run out", interval=0.1)
    assert r.status == 200, r
    assert time.time() >= until
    with db(s) as con:
        assert con.execute("SELECT COUNT(*) FROM failed_attempts").fetchone()[0] == 0


def test_success_resets_the_count_and_unknown_addresses_are_not_counted(start_server):
    s = start_server(env={"PA_AUTH_CODE_MAX_ATTEMPTS": "100"})
    c = s.client
    addr = "rob@example.org"
    sign_in(s, addr)
    for _ in range(2):
        seen = {f.name for f in outbox_files(s)}
        flow = start(c, addr)
        _, _, code = mail_link_and_code(new_mail(s, addr, seen))
        for _ in range(9):
            assert c.post("/v1/auth/email/verify-code",
                          json={"flow_id": flow["flow_id"], "code": wrong_code(code)}).status == 400
        assert c.post("/v1/auth/email/verify-code",
                      json={"flow_id": flow["flow_id"], "code": code}).status == 200
    seen = {f.name for f in outbox_files(s)}
    flow = start(c, "new@example.org")
    _, _, code = mail_link_and_code(new_mail(s, "new@example.org", seen))
    c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"],
                                               "code": wrong_code(code)})
    with db(s) as con:
        assert con.execute("SELECT COUNT(*) FROM failed_attempts").fetchone()[0] == 0


def add_rule(server, cidr, action):
    with db(server) as con:
        con.execute("INSERT INTO ip_filters(id, cidr, action, reason, created_by, created_at) "
                    "VALUES (?, ?, ?, 'test', 'pytest', ?)",
                    (str(uuid.uuid4()), cidr, action, int(time.time())))


def wait_status(c, xff, status, timeout=8):
    deadline = time.monotonic() + timeout
    while True:
        r = c.get("/v1/x", headers={"X-Forwarded-For": xff})
        if r.status == status or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_ip_rules_from_the_table_v4_v6_and_mapped(start_server, tmp_path):
    env = {"PA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32",
           "PA_SERVER_IP_FILTER_REFRESH": "1",
           "PA_SERVER_FRONT_ACTORS": "1"}
    s = start_server(env=env, workdir=tmp_path / "ipf")
    c = s.client
    assert c.get("/v1/x", headers={"X-Forwarded-For": "203.0.113.9"}).status == 404
    add_rule(s, "203.0.113.0/24", "deny")
    add_rule(s, "2001:db8:1::/48", "deny")
    r = wait_status(c, "203.0.113.9", 403)
    assert r.status == 403 and r.json()["error"]["code"] == "forbidden"
    assert c.get("/v1/x", headers={"X-Forwarded-For": "::ffff:203.0.113.9"}).status == 403
    assert c.get("/v1/x", headers={"X-Forwarded-For": "2001:db8:1:ff::5"}).status == 403
    assert c.get("/v1/x", headers={"X-Forwarded-For": "2001:db8:2::5"}).status == 404
    assert c.get("/v1/x", headers={"X-Forwarded-For": "198.51.100.7"}).status == 404
    # Operations routes stay exempt.
    assert c.get("/liveness", headers={"X-Forwarded-For": "203.0.113.9"}).status == 200
    # Blocks are audited at most once per address and minute.
    for _ in range(5):
        c.get("/v1/x", headers={"X-Forwarded-For": "203.0.113.9"})
    # Another blocked address is audited too. Once its event is written, so
    # are the ones before it: each was queued before its 403 was sent, and the
    # auditor writes in arrival order.
    assert c.get("/v1/x", headers={"X-Forwarded-For": "203.0.113.10"}).status == 403

    def blocked(ip):
        with db(s) as con:
            return con.execute("SELECT COUNT(*) FROM audit_logs WHERE event_type = "
                               "'ip.blocked' AND ip = ?", (ip,)).fetchone()[0]
    wait_until(lambda: blocked("203.0.113.10"), what="the second address's block audited")
    assert blocked("203.0.113.9") == 1
    # An allow list from the table is exhaustive; deny still wins inside it.
    add_rule(s, "198.51.100.0/24", "allow")
    add_rule(s, "198.51.100.66/32", "deny")
    assert wait_status(c, "192.0.2.1", 403).status == 403
    assert c.get("/v1/x", headers={"X-Forwarded-For": "198.51.100.7"}).status == 404
    assert c.get("/v1/x", headers={"X-Forwarded-For": "198.51.100.66"}).status == 403
    # Removing the rules lifts them.
    with db(s) as con:
        con.execute("DELETE FROM ip_filters")
    assert wait_status(c, "203.0.113.9", 404).status == 404
    # Rules in the table apply from the first request after a restart.
    add_rule(s, "203.0.113.0/24", "deny")
    s.stop()
    s2 = start_server(env={**env, "PA_SERVER_IP_FILTER_REFRESH": "0"}, workdir=tmp_path / "ipf")
    assert wait_status(s2.client, "203.0.113.9", 403, timeout=2).status == 403
    # A malformed row is skipped, not fatal.
    add_rule(s2, "not-a-cidr", "deny")
