"""Supervision and handler exceptions (issue 15), against the real binary.

Deaths are injected with POST /v1/admin/faults, which exists only with
PA_ADMIN_FAULT_INJECTION=true (off by default), an admin key and a loopback
client. A killed owner is either restarted (its state reloaded from the
database, the fronts given the new handle) or the process exits 70 with an
`actor-died` log line: never a live process that stopped serving one
function. docs/reliability.md, "Supervision", has the table.
"""
import time

import pytest

from conftest import metric, wait_until
from pa_flows import bearer, outbox_files, sign_in, wait_for_mail

ADMIN = "admin-key-for-supervision-tests-0123456789"


def adm(extra=None):
    h = {"Authorization": "Bearer " + ADMIN}
    h.update(extra or {})
    return h


def env(**extra):
    e = {"PA_ADMIN_API_KEY": ADMIN, "PA_ADMIN_FAULT_INJECTION": "true",
         "PA_SERVER_FRONT_ACTORS": "2"}
    e.update(extra)
    return e


def fault(s, body, rid=None):
    return s.client.post("/v1/admin/faults", json=body,
                         headers=adm({"X-Request-ID": rid} if rid else None))


def kill(s, actor):
    r = fault(s, {"fault": "kill", "actor": actor})
    if actor == "http_front" and r.status == 503:
        return  # the killed front was the one answering: its responder's 503
    assert r.status == 202, r
    assert r.json() == {"killed": actor}


def restarts(s, actor):
    h = s.client.get("/health").json()
    return h.get("supervision", {}).get(actor, {}).get("restarts", 0)


def healthy_after_restart(s, actor, n=1):
    """Waits until /health shows `actor` restarted n times and all is ok."""
    def ok():
        r = s.client.get("/health")
        h = r.json()
        return (r.status == 200 and h["status"] == "ok"
                and h["supervision"][actor]["restarts"] == n and h)
    return wait_until(ok, what=f"{actor} restarted and /health ok")


# -- the hook ------------------------------------------------------------------

def test_the_fault_route_does_not_exist_unless_enabled(start_server):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    for body in ({"fault": "throw"}, {"fault": "kill", "actor": "sessions"}):
        r = fault(s, body)
        assert r.status == 404 and r.json()["error"]["code"] == "not_found", r
    # Without the admin key it is the admin guard that answers.
    r = s.client.post("/v1/admin/faults", json={"fault": "throw"})
    assert r.status == 401
    assert s.client.get("/health").status == 200


def test_enabling_it_is_a_startup_warning_and_bad_bodies_are_422(start_server):
    s = start_server(env=env())
    ev = s.wait_event("config-warning",
                      pred=lambda e: "fault_injection" in e.get("message", ""))
    assert "never in production" in ev["message"]
    for body in ({}, {"fault": "explode"}, {"fault": "kill"}):
        r = fault(s, body)
        assert r.status == 422, r
        assert r.json()["error"]["code"] == "validation_failed"
    r = fault(s, {"fault": "kill", "actor": "nobody"})
    assert r.status == 404


# -- handler exceptions -----------------------------------------------------------

def test_a_throwing_handler_is_a_500_with_the_request_id_and_counted(start_server):
    s = start_server(env=env())
    r = fault(s, {"fault": "throw"}, rid="throw-1")
    assert r.status == 500, r
    err = r.json()["error"]
    assert err["code"] == "internal_error" and err["request_id"] == "throw-1"
    assert "fault injection" not in r.text  # the cause is logged, not sent
    assert r.header("X-Request-ID") == "throw-1"
    assert metric(s, "http_handler_exceptions_total",
                  'route="/v1/admin/faults"') == 1
    line = s.wait_event("request", pred=lambda e: e.get("request_id") == "throw-1")
    assert line["status"] == 500 and "handler throw" in line["cause"]
    assert s.client.get("/liveness").status == 200


def test_an_exception_in_a_continuation_keeps_every_front_serving(start_server):
    # An exception that leaves a response handler ends the actor in CAF
    # 0.17.6 whatever its exception handler returns. Fronts and flows make
    # every request through safe_request (actors/safe_request.hpp), which
    # hands such an exception to the request's error handler instead: each
    # thrower answers 500 with its request id, and no front dies, so the
    # requests right after it (round robin over both fronts, no wait for a
    # replacement) are all served. Before safe_request the supervisor had to
    # replace the front, and a request that reached it in between answered
    # a bare 503 (docs/reliability.md, "Handler exceptions").
    s = start_server(env=env())
    for i in range(2):
        r = fault(s, {"fault": "throw_async"}, rid=f"async-{i}")
        assert r.status == 500, r
        err = r.json()["error"]
        assert err["code"] == "internal_error" and err["request_id"] == f"async-{i}"
        for _ in range(4):
            assert s.client.get("/liveness").status == 200
    assert restarts(s, "http_fronts") == 0
    assert metric(s, "actor_restarts_total", 'actor="http_front') == 0
    assert metric(s, "http_handler_exceptions_total",
                  'route="/v1/admin/faults"') == 2
    # The log reaches the test through the process's output, a little later.
    wait_until(lambda: len(s.events("handler-exception")) == 2,
               what="two handler-exception log lines")


# -- restarts ---------------------------------------------------------------------

def test_health_names_every_top_level_actor(start_server):
    s = start_server(env=env())
    h = s.client.get("/health").json()
    names = {"metrics", "database", "auditor", "sessions", "maintenance",
             "mailer", "webhooks", "rate_limiter", "ip_filter", "http_fronts"}
    assert names <= set(h["checks"]), h
    assert all(h["checks"][n] == "ok" for n in names), h
    assert all(h["supervision"][n]["restarts"] == 0 for n in names)


def test_a_killed_session_owner_restarts_with_sessions_from_the_database(start_server):
    s = start_server(env=env())
    tokens = sign_in(s, "keep@example.com")
    assert s.client.get("/v1/session", headers=bearer(tokens)).status == 200
    kill(s, "sessions")
    s.wait_event("actor-restarted", pred=lambda e: e.get("actor") == "sessions")
    h = healthy_after_restart(s, "sessions")
    assert "kill" in h["supervision"]["sessions"]["last_exit"]
    # The live session and the signing keys came back from the database.
    r = s.client.get("/v1/session", headers=bearer(tokens))
    assert r.status == 200, r
    r = s.client.post("/v1/token/refresh",
                      json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200, r
    assert s.client.get("/v1/session", headers=bearer(r.json())).status == 200
    # New sign-ins work through the new owner.
    sign_in(s, "new@example.com")
    assert metric(s, "actor_restarts_total", 'actor="sessions"') == 1


def test_killed_limiter_and_front_are_replaced_and_every_request_answers(start_server):
    s = start_server(env=env())
    kill(s, "rate_limiter")
    healthy_after_restart(s, "rate_limiter")
    kill(s, "http_front")
    healthy_after_restart(s, "http_fronts")
    # Every front the dispatcher uses is alive: no request is lost.
    for _ in range(10):
        assert s.client.post("/v1/auth/email/start",
                             json={"email": "x@example.com"}).status == 202
    assert metric(s, "actor_restarts_total", 'actor="http_front"') == 1


def test_a_killed_mailer_resumes_from_its_queue(start_server):
    s = start_server(env=env())
    kill(s, "mailer")
    healthy_after_restart(s, "mailer")
    s.client.post("/v1/auth/email/start", json={"email": "after@example.com"})
    wait_for_mail(s, "after@example.com")
    kill(s, "maintenance")
    healthy_after_restart(s, "maintenance")


@pytest.mark.parametrize("actor", ["database", "metrics"])
def test_an_owner_that_cannot_be_replaced_exits_the_process_non_zero(start_server, actor):
    s = start_server(env=env())
    t0 = time.monotonic()
    kill(s, actor)
    ev = s.wait_event("actor-died", pred=lambda e: e.get("actor") == actor)
    assert ev["action"] == "exit" and ev["level"] == "error"
    assert s.proc.wait(timeout=30) == 70
    assert time.monotonic() - t0 < 30
    # The last log line may reach the test's reader after the exit.
    assert s.wait_event("stopped")["exit_code"] == 70
