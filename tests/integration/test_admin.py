"""The admin API over real HTTP: authentication, every route, no secrets out."""
import json
import subprocess
import time

import pytest

import db_access
from conftest import BINARY
from pa_flows import bearer, sign_in, wait_for_mail

ADMIN = "bootstrap-admin-key-for-tests-0123456789"
ROUTES = [
    ("GET", "/v1/admin/users"), ("GET", "/v1/admin/users/x"), ("PATCH", "/v1/admin/users/x"),
    ("DELETE", "/v1/admin/users/x"), ("POST", "/v1/admin/users/x/unlock"),
    ("GET", "/v1/admin/users/x/sessions"), ("DELETE", "/v1/admin/users/x/sessions"),
    ("DELETE", "/v1/admin/sessions/x"), ("GET", "/v1/admin/audit"), ("GET", "/v1/admin/stats"),
    ("GET", "/v1/admin/ip-filters"), ("POST", "/v1/admin/ip-filters"),
    ("GET", "/v1/admin/ip-filters/x"), ("DELETE", "/v1/admin/ip-filters/x"),
    ("GET", "/v1/admin/webhooks"), ("POST", "/v1/admin/webhooks"),
    ("GET", "/v1/admin/webhooks/x"), ("DELETE", "/v1/admin/webhooks/x"),
    ("GET", "/v1/admin/webhooks/x/deliveries"), ("POST", "/v1/admin/keys/rotate"),
    ("GET", "/admin/stats"),
]


@pytest.fixture
def admin_server(start_server):
    return start_server(env={"PA_ADMIN_API_KEY": ADMIN})


def adm(key=ADMIN):
    return {"Authorization": "Bearer " + key}


def test_every_admin_route_needs_a_valid_key(admin_server):
    c = admin_server.client
    user = sign_in(admin_server, "notadmin@example.com")
    for method, path in ROUTES:
        for headers in [{}, adm("wrong-key"), bearer(user), {"Authorization": "Basic " + ADMIN}]:
            r = c.request(method, path, headers=headers, json={} if method in ("POST", "PATCH") else None)
            assert r.status == 401, (method, path, headers, r)
            assert r.json()["error"]["code"] == "unauthorized"
        r = c.request(method, path, headers=adm(), json={} if method in ("POST", "PATCH") else None)
        assert r.status not in (401, 403, 500), (method, path, r)


def test_cli_created_keys_work_and_are_stored_hashed(admin_server):
    r = subprocess.run([BINARY, "admin", "create-key", "--name", "ops"], env=admin_server.env,
                       cwd=admin_server.workdir, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("pa_admin_") and len(key) > 40
    assert admin_server.client.get("/v1/admin/stats", headers=adm(key)).status == 200
    db = db_access.connect(admin_server.workdir / "auth.db")
    (stored,) = db.execute("SELECT key_hash FROM admin_api_keys").fetchone()
    assert key not in stored and len(stored) == 64
    # Every admin call is audited with the key id.
    (kid,) = db.execute("SELECT id FROM admin_api_keys").fetchone()
    events = admin_server.client.get("/v1/admin/audit?type=admin.request", headers=adm()).json()["events"]
    assert any(e["actor"] == f"admin:{kid}" for e in events)
    assert any(e["actor"] == "admin:bootstrap" for e in events)


def test_users_search_counts_disable_unlock_delete(admin_server):
    c = admin_server.client
    t1 = sign_in(admin_server, "una@example.com")
    sign_in(admin_server, "una@example.com")
    sign_in(admin_server, "victor@example.com")
    page = c.get("/v1/admin/users?limit=1", headers=adm()).json()
    assert len(page["users"]) == 1 and page["next_cursor"]
    page2 = c.get(f"/v1/admin/users?limit=1&cursor={page['next_cursor']}", headers=adm()).json()
    assert page2["users"][0]["id"] != page["users"][0]["id"] and page2["next_cursor"] is None
    found = c.get("/v1/admin/users?query=UNA", headers=adm()).json()["users"]
    assert [u["email"] for u in found] == ["una@example.com"]
    assert c.get("/v1/admin/users?query=%25", headers=adm()).json()["users"] == []
    assert c.get("/v1/admin/users?limit=0", headers=adm()).status == 422
    assert c.get("/v1/admin/users?cursor=!!", headers=adm()).status == 422
    uid = found[0]["id"]
    u = c.get(f"/v1/admin/users/{uid}", headers=adm()).json()
    assert u["counts"] == {"sessions": 2, "passkeys": 0, "totp": 0, "recovery_codes": 0}
    assert u["disabled"] is False
    assert c.get("/v1/admin/users/nope", headers=adm()).status == 404
    sessions = c.get(f"/v1/admin/users/{uid}/sessions", headers=adm()).json()["sessions"]
    assert len(sessions) == 2
    for s in sessions:  # no token material, ever
        assert not {"refresh_token", "token_hash", "access_token"} & set(s)
    # Disabling revokes every session at once and blocks new sign-ins.
    r = c.patch(f"/v1/admin/users/{uid}", json={"disabled": True}, headers=adm())
    assert r.status == 200 and r.json()["disabled"] is True and r.json()["counts"]["sessions"] == 0
    assert c.get("/v1/session", headers=bearer(t1)).status == 401
    assert c.post("/v1/token/refresh", json={"refresh_token": t1["refresh_token"]}).status == 401
    assert c.patch(f"/v1/admin/users/{uid}", json={"disabled": "yes"}, headers=adm()).status == 422
    assert c.patch(f"/v1/admin/users/{uid}", json={"disabled": False}, headers=adm()).json()["disabled"] is False
    assert c.post(f"/v1/admin/users/{uid}/unlock", headers=adm()).status == 204
    assert c.delete(f"/v1/admin/users/{uid}", headers=adm()).status == 204
    assert c.get(f"/v1/admin/users/{uid}", headers=adm()).status == 404
    # The address learns that its account is gone (after 2 sign-in mails).
    msgs = wait_for_mail(admin_server, "una@example.com", count=3)
    assert "account has been deleted" in str(msgs[-1]["Subject"])


def test_session_revocation_by_admin(admin_server):
    c = admin_server.client
    a = sign_in(admin_server, "wes@example.com")
    b = sign_in(admin_server, "wes@example.com")
    assert c.delete(f"/v1/admin/sessions/{a['session_id']}", headers=adm()).status == 204
    assert c.get("/v1/session", headers=bearer(a)).status == 401
    assert c.get("/v1/session", headers=bearer(b)).status == 200
    assert c.delete(f"/v1/admin/sessions/{a['session_id']}", headers=adm()).status == 404
    assert c.delete(f"/v1/admin/users/{b['user']['id']}/sessions", headers=adm()).status == 204
    assert c.get("/v1/session", headers=bearer(b)).status == 401
    # Revoking all of a user's sessions tells them, without the operator's
    # address; revoking one session (above) does not mail.
    msgs = wait_for_mail(admin_server, "wes@example.com", count=3)
    assert len(msgs) == 3 and "signed out" in str(msgs[-1]["Subject"])
    body = msgs[-1].get_body(preferencelist=("plain",)).get_content()
    assert "Sessions signed out: 1" in body and "IP address" not in body


def test_admin_and_own_session_listings_agree_on_last_seen(admin_server):
    # Both listings read the session owner (the session actor): after a
    # refresh and a later use of the new access token, the admin sees the
    # last_seen_at the user sees, not the one of the last database write.
    c = admin_server.client
    first = sign_in(admin_server, "lena@example.com")
    uid = first["user"]["id"]
    r = c.post("/v1/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status == 200, r
    tokens = r.json()
    time.sleep(1.2)  # last_seen_at counts whole seconds
    mine = c.get("/v1/me/sessions", headers=bearer(tokens)).json()["sessions"]
    theirs = c.get(f"/v1/admin/users/{uid}/sessions", headers=adm()).json()["sessions"]
    assert len(mine) == 1 and len(theirs) == 1
    assert theirs[0]["id"] == mine[0]["id"] == first["session_id"]
    assert theirs[0]["last_seen_at"] == mine[0]["last_seen_at"]
    assert theirs[0]["last_seen_at"] > theirs[0]["created_at"]


def test_audit_filters_pagination_and_export(admin_server):
    c = admin_server.client
    t = sign_in(admin_server, "xena@example.com")
    uid = t["user"]["id"]
    c.post("/v1/token/refresh", json={"refresh_token": t["refresh_token"]})
    c.post("/v1/auth/logout", json={"scope": "local"}, headers=bearer(t))
    c.post("/v1/auth/email/verify-code", json={"flow_id": "nope", "code": "123456"})
    events = c.get(f"/v1/admin/audit?user_id={uid}", headers=adm()).json()["events"]
    types = {e["type"] for e in events}
    assert {"email.code_verified", "session.created", "session.refreshed",
            "session.revoked", "session.logout"} <= types, types
    for e in events:
        assert set(e) == {"id", "type", "created_at", "user_id", "email", "ip", "user_agent",
                          "request_id", "actor", "success", "metadata"}
        assert e["user_id"] == uid and e["ip"] == "127.0.0.1"
        blob = json.dumps(e)
        assert t["refresh_token"] not in blob and t["access_token"] not in blob
    req = [e for e in events if e["type"] == "email.code_verified"][0]
    assert req["email"] == "xena@example.com" and req["success"] is True and req["request_id"]
    failed = c.get("/v1/admin/audit?success=false", headers=adm()).json()["events"]
    assert failed and all(not e["success"] for e in failed)
    one = c.get("/v1/admin/audit?type=session.created&limit=1", headers=adm()).json()
    assert len(one["events"]) == 1 and one["events"][0]["type"] == "session.created"
    first = c.get("/v1/admin/audit?limit=2", headers=adm()).json()
    second = c.get(f"/v1/admin/audit?limit=2&cursor={first['next_cursor']}", headers=adm()).json()
    assert int(second["events"][0]["id"]) < int(first["events"][-1]["id"])
    future = c.get("/v1/admin/audit?since=99999999999", headers=adm()).json()
    assert future["events"] == [] and future["next_cursor"] is None
    assert c.get("/v1/admin/audit?since=yesterday", headers=adm()).status == 422
    r = subprocess.run([BINARY, "audit", "export", "--since", "0"], env=admin_server.env,
                       cwd=admin_server.workdir, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert any(x["type"] == "session.created" and x["user_id"] == uid for x in lines)


def test_stats_and_deprecated_alias(admin_server):
    c = admin_server.client
    sign_in(admin_server, "yuri@example.com")
    s = c.get("/v1/admin/stats", headers=adm()).json()
    assert s["total_users"] == 1 and s["active_sessions"] == 1 and s["logins_24h"] == 1
    assert "emails_queued" in s
    r = c.get("/admin/stats", headers=adm())
    assert r.status == 200 and r.header("deprecation") == "true"


def test_ip_filter_admin_routes(admin_server):
    c = admin_server.client
    r = c.post("/v1/admin/ip-filters", json={"cidr": "203.0.113.7/24", "action": "deny",
                                             "reason": "abuse"}, headers=adm())
    assert r.status == 201
    rule = r.json()
    assert rule["cidr"] == "203.0.113.0/24" and rule["created_by"] == "admin:bootstrap"
    assert c.post("/v1/admin/ip-filters", json={"cidr": "203.0.113.0/24", "action": "deny"},
                  headers=adm()).status == 409
    assert c.post("/v1/admin/ip-filters", json={"cidr": "nope", "action": "deny"}, headers=adm()).status == 422
    assert c.post("/v1/admin/ip-filters", json={"cidr": "10.0.0.0/8", "action": "maybe"}, headers=adm()).status == 422
    assert c.get(f"/v1/admin/ip-filters/{rule['id']}", headers=adm()).json() == rule
    assert c.get("/v1/admin/ip-filters", headers=adm()).json()["ip_filters"] == [rule]
    assert c.delete(f"/v1/admin/ip-filters/{rule['id']}", headers=adm()).status == 204
    assert c.delete(f"/v1/admin/ip-filters/{rule['id']}", headers=adm()).status == 404


def test_key_rotation_route(admin_server):
    c = admin_server.client
    t = sign_in(admin_server, "zoe@example.com")
    # An OAuth client brings the RS256 ID-token key (issue 16), which a
    # rotation then renews too.
    assert c.post("/v1/admin/oauth/clients", headers=adm(), json={
        "name": "App", "type": "public",
        "redirect_uris": ["http://127.0.0.1:9/cb"]}).status == 201
    r = c.post("/v1/admin/keys/rotate", headers=adm())
    assert r.status == 200 and r.json()["alg"] == "ES256"
    keys = c.get("/.well-known/jwks.json").json()["keys"]
    es256 = {k["kid"] for k in keys if k["alg"] == "ES256"}
    # The access-token key rotated (old and new verify); the RS256 ID-token
    # key of the OpenID Provider (issue 16) rotated with it.
    assert r.json()["kid"] in es256 and len(es256) == 2
    assert len([k for k in keys if k["alg"] == "RS256"]) == 2
    assert c.get("/v1/session", headers=bearer(t)).status == 200
