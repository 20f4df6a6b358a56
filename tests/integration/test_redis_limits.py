"""Per-IP limits shared across nodes through Redis (issue 14).

Each test starts its own redis-server (tests/tools/redis_server.py: temp
folder, random loopback port, stopped by PID) and one or two real service
processes with rate_limit.backend = "redis" pointed at it. The nodes have
separate SQLite files: the per-IP limits need nothing else in common.
Every request comes from 127.0.0.1, so all of them are one client.
"""
import pathlib
import signal
import subprocess
import sys

import pytest

from conftest import BINARY, metric, wait_until

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
from redis_server import RedisServer  # noqa: E402

# Periods of an hour: no request in a test gets a slot back while it runs,
# so every count below is exact however slow the machine.
POLICIES = "verify_per_ip=4/3600,global_per_ip=1000/3600"
VERIFY_KEY = "pa:rl:{127.0.0.1}:verify_per_ip"
GLOBAL_KEY = "pa:rl:{127.0.0.1}:global_per_ip"


@pytest.fixture
def redis():
    with RedisServer() as r:
        yield r


def node(start_server, redis, policies=POLICIES, connections=1, **env):
    # One connection (the default is 2) unless a test asks: the counters
    # and the rate_limit_redis_up gauge are then the one connection's.
    e = {"PA_RATE_LIMIT_BACKEND": "redis",
         "PA_RATE_LIMIT_REDIS_URL": redis.url,
         "PA_RATE_LIMIT_REDIS_CONNECTIONS": str(connections),
         "PA_RATE_LIMIT_POLICIES": policies}
    e.update(env)
    s = start_server(env=e)
    wait_until(lambda: len(s.events("rate-limit-redis-up")) == connections,
               what="every Redis connection up")
    return s


def verify_code(s):
    return s.client.post(
        "/v1/auth/email/verify-code",
        json={"flow_id": "00000000-0000-4000-8000-000000000000",
              "code": "123456"})


def test_two_nodes_share_one_per_ip_budget(start_server, redis):
    a = node(start_server, redis, connections=2)
    b = node(start_server, redis, connections=3)
    # Four verifications in all, alternating nodes: each passes the limit
    # (400: an unknown flow) and the remaining count is the shared one.
    for i, s in enumerate([a, b, a, b]):
        r = verify_code(s)
        assert r.status == 400, r
        assert r.header("ratelimit-limit") == "4"
        assert r.header("ratelimit-remaining") == str(3 - i), (i, r)
    # The fifth is refused by whichever node gets it, with the wait of the
    # shared budget (one emission interval, 900 s, minus what elapsed).
    for s in (a, b):
        r = verify_code(s)
        assert r.status == 429, r
        body = r.json()["error"]
        assert body["code"] == "rate_limited"
        assert 0 < int(r.header("retry-after")) <= 900
    assert metric(a, "rate_limit_hits_total", 'type="verify_per_ip"') == 1
    assert metric(b, "rate_limit_hits_total", 'type="verify_per_ip"') == 1
    # The budget lives in Redis, with an expiry no later than its refill.
    assert int(redis.command("GET", VERIFY_KEY)) > 0
    assert 0 < redis.command("PTTL", VERIFY_KEY) <= 3600 * 1000
    assert metric(a, "rate_limit_redis_calls_total", 'outcome="ok"') == 3
    assert metric(a, "rate_limit_redis_up") == 2  # both connections


def test_the_global_ceiling_is_shared_too(start_server, redis):
    a = node(start_server, redis, policies="global_per_ip=5/3600")
    b = node(start_server, redis, policies="global_per_ip=5/3600")
    # Routes without a class of their own count against the global ceiling
    # only: 5 in all across both nodes.
    statuses = [s.client.get("/v1/session").status for s in [a, b, a, b, a]]
    assert statuses == [401] * 5
    r = b.client.get("/v1/session")
    assert r.status == 429, r
    assert metric(b, "rate_limit_hits_total", 'type="global_per_ip"') == 1
    assert redis.command("EXISTS", GLOBAL_KEY) == 1


def test_a_refused_request_consumes_nothing(start_server, redis):
    s = node(start_server, redis)
    for _ in range(4):
        assert verify_code(s).status == 400
    before = (redis.command("GET", VERIFY_KEY), redis.command("GET", GLOBAL_KEY))
    assert None not in before  # both budgets are Redis's
    assert verify_code(s).status == 429
    # As in memory: the refusal burns neither the class nor the ceiling.
    assert (redis.command("GET", VERIFY_KEY),
            redis.command("GET", GLOBAL_KEY)) == before


def test_a_script_flushed_from_redis_is_loaded_again(start_server, redis):
    s = node(start_server, redis)
    assert verify_code(s).status == 400
    assert redis.command("SCRIPT", "FLUSH") == "OK"
    r = verify_code(s)  # EVALSHA answers NOSCRIPT: loaded again, retried
    assert r.status == 400 and r.header("ratelimit-remaining") == "2", r
    assert metric(s, "rate_limit_redis_fallbacks_total") == 0
    assert metric(s, "rate_limit_redis_calls_total", 'outcome="ok"') == 2


def test_redis_killed_fail_open_serves_with_the_nodes_own_limits(
        start_server, redis):
    s = node(start_server, redis)
    for _ in range(3):
        assert verify_code(s).status == 400
    redis.kill()
    # Without Redis the node serves, on its own in-memory limits (a fresh
    # budget of 4: they counted nothing while Redis did).
    for _ in range(4):
        r = verify_code(s)
        assert r.status == 400, r
    assert verify_code(s).status == 429
    assert s.client.get("/v1/session").status == 401
    assert metric(s, "rate_limit_redis_fallbacks_total", 'outcome="local"') >= 6
    assert metric(s, "rate_limit_redis_calls_total", 'outcome="error"') >= 1
    assert metric(s, "rate_limit_redis_up") == 0
    s.wait_event("rate-limit-redis-down")
    # Redis back (empty: it kept nothing): the node finds it again on its
    # own, and the shared budget starts over.
    redis.start()
    wait_until(lambda: verify_code(s).status == 400
               and redis.command("EXISTS", VERIFY_KEY) == 1,
               timeout=20, what="the node to use Redis again")
    wait_until(lambda: metric(s, "rate_limit_redis_up") == 1,
               what="rate_limit_redis_up to be 1 again")
    wait_until(lambda: len(s.events("rate-limit-redis-up")) == 2,
               what="the second rate-limit-redis-up log line")


def test_redis_killed_fail_closed_answers_503(start_server, redis):
    s = node(start_server, redis, PA_RATE_LIMIT_REDIS_FAIL_OPEN="false")
    assert verify_code(s).status == 400
    redis.kill()
    r = verify_code(s)
    assert r.status == 503, r
    assert r.json()["error"]["code"] == "service_unavailable"
    assert r.header("retry-after") == "1"
    assert s.client.get("/v1/session").status == 503  # every limited route
    # Operations routes are not limited: probes still see the node.
    assert s.client.get("/readiness").status == 200
    assert metric(s, "rate_limit_redis_fallbacks_total",
                  'outcome="refused"') == 2


def test_a_frozen_redis_does_not_stall_the_front(start_server, redis):
    # SIGSTOP: connections stay open and nothing answers, the worst case
    # for a client. The call gives up after rate_limit.redis_timeout and
    # the node decides alone, long before the front's own limiter wait
    # (rate_limit.timeout, raised here so that one cannot be what answers).
    s = node(start_server, redis, PA_RATE_LIMIT_REDIS_TIMEOUT="0.2",
             PA_RATE_LIMIT_TIMEOUT="30")
    assert verify_code(s).status == 400
    redis.signal(signal.SIGSTOP)
    try:
        r = verify_code(s)
        assert r.status == 400, r
        assert metric(s, "rate_limit_timeouts_total") == 0
        assert metric(s, "rate_limit_redis_fallbacks_total",
                      'outcome="local"') == 1
    finally:
        redis.signal(signal.SIGCONT)


def check_config(tmp_path, env=None, toml=None):
    args = [BINARY]
    if toml is not None:
        cfg = tmp_path / "config.toml"
        cfg.write_text(toml)
        args += ["--config", str(cfg)]
    args += ["check-config"]
    full = {"PATH": "/usr/bin:/bin", "PA_DATABASE_PATH": str(tmp_path / "a.db")}
    full.update(env or {})
    return subprocess.run(args, env=full, capture_output=True, text=True,
                          timeout=30)


def test_redis_settings_are_checked_at_start(tmp_path):
    r = check_config(tmp_path, {"PA_RATE_LIMIT_BACKEND": "redis"})
    assert r.returncode == 2, r
    assert "rate_limit.redis_url" in r.stderr + r.stdout
    r = check_config(tmp_path, {"PA_RATE_LIMIT_BACKEND": "redis",
                                "PA_RATE_LIMIT_REDIS_URL": "rediss://h:6380"})
    assert r.returncode == 2 and "TLS" in r.stderr + r.stdout, r
    r = check_config(tmp_path, {"PA_RATE_LIMIT_BACKEND": "memcached"})
    assert r.returncode == 2, r
    # A password only from the environment (or redis_url_file), never the
    # config file, and never printed.
    r = check_config(tmp_path, toml='[rate_limit]\nbackend = "redis"\n'
                     'redis_url = "redis://:hunter2-secret@127.0.0.1:6379"\n')
    assert r.returncode == 2, r
    assert "hunter2-secret" not in r.stderr + r.stdout
    r = check_config(tmp_path, toml='[rate_limit]\nbackend = "redis"\n'
                     'redis_url = "redis://127.0.0.1:6379/2"\n')
    assert r.returncode == 0, r
    r = check_config(tmp_path, {"PA_RATE_LIMIT_BACKEND": "redis",
                                "PA_RATE_LIMIT_REDIS_URL":
                                    "redis://:hunter2-secret@127.0.0.1:6379"})
    assert r.returncode == 0, r
    assert "hunter2-secret" not in r.stderr + r.stdout
