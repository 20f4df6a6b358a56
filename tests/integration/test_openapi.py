"""The OpenAPI document: it lints, it matches the router both ways, it is
served, and real responses of a full sign-in conform to its schemas."""
import json
import os
import pathlib
import subprocess

import pytest

import openapi_check
from conftest import BINARY, SOURCE_DIR
from pa_flows import bearer, mail_link_and_code, sign_in, start, wait_for_mail

DOC = SOURCE_DIR / "openapi.yaml"
REDOCLY = SOURCE_DIR / "tests" / "browser" / "node_modules" / ".bin" / "redocly"


def router_routes():
    r = subprocess.run([BINARY, "routes"], capture_output=True, text=True, check=True)
    return {tuple(line.split(" ", 1)) for line in r.stdout.splitlines() if line}


def test_redocly_lint_passes():
    assert REDOCLY.exists(), "run scripts/npm-deps.sh (tests/browser node_modules missing)"
    r = subprocess.run([str(REDOCLY), "lint", str(DOC)], cwd=SOURCE_DIR,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_router_and_document_agree_both_ways():
    documented = openapi_check.documented_routes(str(DOC), fold_head=True)
    routed = router_routes()
    assert routed - documented == set(), "routes missing from openapi.yaml"
    assert documented - routed == set(), "documented routes the router lacks"


def test_every_documented_route_is_answered(server):
    c = server.client
    for method, path in sorted(router_routes()):
        concrete = path.replace("{id}", "x").replace("{file}", "login.css")
        r = c.request(method, concrete, json={} if method in ("POST", "PATCH") else None)
        # A routed request never ends in the router's "no such route".
        assert r.status != 405, (method, path)
        if r.status == 404:
            ev = server.wait_event("request", pred=lambda e: e.get("request_id") == r.header("x-request-id"))
            assert ev["route"] == path, (method, path, ev)


def test_openapi_json_is_served(server):
    r = server.client.get("/openapi.json")
    assert r.status == 200 and r.header("content-type").startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and "/v1/auth/email/start" in doc["paths"]


def check(r, method, template):
    ref = openapi_check.response_schema_ref(method, template, r.status, path=str(DOC))
    assert ref, (method, template, r.status)
    problems = openapi_check.errors(r.json(), ref, path=str(DOC))
    assert not problems, (method, template, r.status, problems)


def test_a_full_sign_in_conforms_to_the_schemas(server):
    c = server.client
    r = c.post("/v1/auth/email/start", json={"email": "schema@example.com"})
    check(r, "POST", "/v1/auth/email/start")
    flow = r.json()
    r = c.post("/v1/auth/email/exchange", json=flow)
    check(r, "POST", "/v1/auth/email/exchange")
    _, token, code = mail_link_and_code(wait_for_mail(server, "schema@example.com")[0])
    r = c.post("/v1/auth/email/verify-code", json={"flow_id": flow["flow_id"], "code": "000000" if code != "000000" else "111111"})
    check(r, "POST", "/v1/auth/email/verify-code")
    r = c.post("/v1/auth/email/link", json={"token": token})
    check(r, "POST", "/v1/auth/email/link")
    t = r.json()
    for method, path in [("GET", "/v1/session"), ("GET", "/v1/me"), ("GET", "/v1/me/sessions"),
                         ("GET", "/v1/me/passkeys")]:
        check(c.request(method, path, headers=bearer(t)), method, path)
    check(c.patch("/v1/me", json={"display_name": "Schema"}, headers=bearer(t)), "PATCH", "/v1/me")
    r = c.post("/v1/token/refresh", json={"refresh_token": t["refresh_token"]})
    check(r, "POST", "/v1/token/refresh")
    check(c.get("/v1/session"), "GET", "/v1/session")
    check(c.get("/health"), "GET", "/health")
    check(c.get("/readiness"), "GET", "/readiness")
    check(c.get("/liveness"), "GET", "/liveness")
    check(c.get("/.well-known/jwks.json"), "GET", "/.well-known/jwks.json")
    check(c.post("/v1/webauthn/login/options", json={}), "POST", "/v1/webauthn/login/options")
    check(c.post("/v1/me/totp", headers=bearer(t)), "POST", "/v1/me/totp")
