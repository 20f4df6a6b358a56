"""Issue #17: user and app metadata, the admin PATCH of a user, and the
personal data export, over real HTTP against the real binary (real SQLite
file, real outbox, a real webhook receiver, a software authenticator and
oathtool for the factors)."""
import base64
import json

import pytest

import db_access
import openapi_check
from conftest import wait_until
from pa_flows import bearer, sign_in, wait_for_mail
from soft_authenticator import SoftAuthenticator
from test_passkeys import register
from test_reauth import stale_session
from test_totp import confirm, enrol
from test_webhooks import Receiver, create_endpoint

ADMIN = "bootstrap-admin-key-for-tests-0123456789"
ADM = {"Authorization": "Bearer " + ADMIN}
EXPORT_ENV = {"PA_ADMIN_API_KEY": ADMIN, "PA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
              "PA_WEBHOOKS_POLL_INTERVAL": "0.2"}


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def stored(server, uid):
    with db(server) as con:
        return con.execute("SELECT display_name, user_metadata, app_metadata, email "
                           "FROM users WHERE id = ?", (uid,)).fetchone()


def me(server, tokens):
    r = server.client.get("/v1/me", headers=bearer(tokens))
    assert r.status == 200, r
    openapi_check.validate(r.json(), "UserWithMetadata")
    return r.json()


def patch_me(server, tokens, body):
    return server.client.patch("/v1/me", json=body, headers=bearer(tokens))


def assert_invalid(r, field):
    assert r.status == 422, r
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    assert field in err["details"], err
    assert err["request_id"] == r.header("x-request-id")


@pytest.fixture
def admin_server(start_server):
    return start_server(env={"PA_ADMIN_API_KEY": ADMIN})


# -- metadata -------------------------------------------------------------------

def test_user_metadata_merges_as_a_json_merge_patch(server):
    t = sign_in(server, "ann@example.org")
    first = me(server, t)
    assert first["user_metadata"] == {} and first["app_metadata"] == {}
    r = patch_me(server, t, {"user_metadata": {"theme": "dark", "prefs": {"a": 1, "b": [1, 2]},
                                               "name": "Änne ✓"}})
    assert r.status == 200, r
    openapi_check.validate(r.json(), "UserWithMetadata")
    assert r.json()["user_metadata"] == {"theme": "dark", "prefs": {"a": 1, "b": [1, 2]},
                                         "name": "Änne ✓"}
    # Merge: nested objects merge, null removes, other values replace.
    r = patch_me(server, t, {"user_metadata": {"theme": None, "prefs": {"b": "x", "c": True}},
                             "display_name": "Ann"})
    assert r.status == 200, r
    want = {"prefs": {"a": 1, "b": "x", "c": True}, "name": "Änne ✓"}
    assert r.json()["user_metadata"] == want
    assert r.json()["display_name"] == "Ann"
    assert me(server, t)["user_metadata"] == want
    assert json.loads(stored(server, first["id"])[1]) == want
    # An empty patch changes nothing; other fields leave metadata alone.
    assert patch_me(server, t, {"user_metadata": {}}).json()["user_metadata"] == want
    assert patch_me(server, t, {"locale": "de"}).json()["user_metadata"] == want


def test_user_metadata_refusals_change_nothing(server):
    t = sign_in(server, "bob@example.org")
    uid = me(server, t)["id"]
    assert patch_me(server, t, {"user_metadata": {"keep": 1}}).status == 200
    before = stored(server, uid)
    for bad in [[], "text", 3, None, True, [{"a": 1}]]:
        assert_invalid(patch_me(server, t, {"user_metadata": bad, "display_name": "X"}),
                       "user_metadata")
    # Over 8 KiB serialised in the patch itself.
    assert_invalid(patch_me(server, t, {"user_metadata": {"k": "v" * 8200}}), "user_metadata")
    # Too deep (33 levels).
    deep = {}
    for _ in range(33):
        deep = {"d": deep}
    assert_invalid(patch_me(server, t, {"user_metadata": deep}), "user_metadata")
    # Each patch fits, but the merged document would not: refused in the same
    # unit, so the display name sent with it is not written either.
    assert patch_me(server, t, {"user_metadata": {"a": "x" * 5000}}).status == 200
    mid = stored(server, uid)
    r = patch_me(server, t, {"user_metadata": {"b": "y" * 5000}, "display_name": "Bobby"})
    assert_invalid(r, "user_metadata")
    assert "after the merge" in r.json()["error"]["details"]["user_metadata"]
    assert stored(server, uid) == mid
    # Exactly at the limit is fine: {"a":"x...x"} of 8192 bytes.
    assert patch_me(server, t, {"user_metadata": {"a": None}}).status == 200
    assert patch_me(server, t, {"user_metadata": {"keep": None}}).status == 200
    exact = {"a": "x" * (8192 - len('{"a":""}'))}
    r = patch_me(server, t, {"user_metadata": exact})
    assert r.status == 200, r
    assert len(stored(server, uid)[1].encode()) == 8192
    assert_invalid(patch_me(server, t, {"user_metadata": {"b": 1}}), "user_metadata")
    assert before != stored(server, uid)  # the accepted patches did land


def test_a_user_can_never_write_app_metadata(server):
    t = sign_in(server, "cat@example.org")
    uid = me(server, t)["id"]
    before = stored(server, uid)
    for body in [{"app_metadata": {"role": "admin"}},
                 {"app_metadata": {"role": "admin"}, "user_metadata": {"x": 1},
                  "display_name": "Cat"},
                 {"app_metadata": None}, {"app_metadata": "admin"}]:
        assert_invalid(patch_me(server, t, body), "app_metadata")
    assert stored(server, uid) == before
    assert me(server, t)["app_metadata"] == {}


# -- admin PATCH ------------------------------------------------------------------

def admin_patch(server, uid, body):
    return server.client.patch(f"/v1/admin/users/{uid}", json=body, headers=ADM)


def audit_events(server, uid, type_):
    r = server.client.get(f"/v1/admin/audit?user_id={uid}&type={type_}", headers=ADM)
    assert r.status == 200, r
    return r.json()["events"]


def test_admin_sets_email_and_metadata_all_or_nothing(admin_server):
    s = admin_server
    ann = sign_in(s, "ann@example.org")
    bob = sign_in(s, "bob@example.org")
    ann_id, bob_id = ann["user"]["id"], bob["user"]["id"]

    # The address, normalised; the user keeps the account and signs in with it.
    r = admin_patch(s, ann_id, {"email": "  Ann.Smith@Example.ORG "})
    assert r.status == 200, r
    openapi_check.validate(r.json(), "AdminUser")
    assert r.json()["email"] == "ann.smith@example.org"
    events = audit_events(s, ann_id, "user.email_changed_by_admin")
    assert len(events) == 1
    assert events[0]["actor"] == "admin:bootstrap"
    assert events[0]["metadata"]["admin_key_id"] == "admin:bootstrap"
    again = sign_in(s, "ann.smith@example.org")
    assert again["user"]["id"] == ann_id

    # Another account's address: 409, and nothing of the body is written.
    before = stored(s, ann_id)
    r = admin_patch(s, ann_id, {"email": "BOB@example.org", "display_name": "Taken",
                                "app_metadata": {"role": "x"}})
    assert r.status == 409, r
    err = r.json()["error"]
    assert err["code"] == "conflict" and "email" in err["details"]
    openapi_check.validate(r.json(), "ConflictError")
    assert stored(s, ann_id) == before
    # Setting the address it already has is no conflict.
    assert admin_patch(s, bob_id, {"email": "bob@example.org"}).status == 200
    assert audit_events(s, bob_id, "user.email_changed_by_admin") == []

    for body, field in [({"email": "not an address"}, "email"), ({"email": 7}, "email"),
                        ({"app_metadata": [1]}, "app_metadata"),
                        ({"user_metadata": "x"}, "user_metadata"),
                        ({"app_metadata": {"k": "v" * 8200}}, "app_metadata"),
                        ({"disabled": "yes"}, "disabled"), ({}, "body"),
                        ({"unknown": 1}, "body"), ({"display_name": 5}, "display_name")]:
        assert_invalid(admin_patch(s, ann_id, body), field)
    assert stored(s, ann_id) == before

    # app_metadata (merged), user_metadata and the name in one change.
    r = admin_patch(s, ann_id, {"app_metadata": {"role": "editor", "plan": {"tier": 2}},
                                "user_metadata": {"note": "hi"}, "display_name": "Ann S."})
    assert r.status == 200, r
    assert r.json()["app_metadata"] == {"role": "editor", "plan": {"tier": 2}}
    r = admin_patch(s, ann_id, {"app_metadata": {"plan": None}})
    assert r.json()["app_metadata"] == {"role": "editor"}
    assert r.json()["user_metadata"] == {"note": "hi"}
    assert r.json()["display_name"] == "Ann S."
    updated = audit_events(s, ann_id, "user.updated_by_admin")
    assert sorted(updated[-1]["metadata"]["fields"]) == ["app_metadata", "display_name",
                                                         "user_metadata"]
    # Shown everywhere: the admin user, the list, and the user's own /v1/me.
    got = s.client.get(f"/v1/admin/users/{ann_id}", headers=ADM).json()
    assert got["app_metadata"] == {"role": "editor"}
    listed = s.client.get("/v1/admin/users?query=ann.smith", headers=ADM).json()["users"]
    assert [u["app_metadata"] for u in listed] == [{"role": "editor"}]
    openapi_check.validate(s.client.get("/v1/admin/users", headers=ADM).json(), "AdminUserPage")
    mine = me(s, again)
    assert mine["app_metadata"] == {"role": "editor"} and mine["email"] == "ann.smith@example.org"
    # The merged app_metadata over 8 KiB: refused, nothing written.
    assert admin_patch(s, ann_id, {"app_metadata": {"a": "x" * 5000}}).status == 200
    mid = stored(s, ann_id)
    r = admin_patch(s, ann_id, {"app_metadata": {"b": "y" * 5000}, "disabled": True})
    assert_invalid(r, "app_metadata")
    assert stored(s, ann_id) == mid
    assert s.client.get("/v1/session", headers=bearer(again)).status == 200
    # Disabling together with a metadata change: both, and sessions end.
    r = admin_patch(s, ann_id, {"disabled": True, "app_metadata": {"a": None}})
    assert r.status == 200 and r.json()["disabled"] is True
    assert r.json()["app_metadata"] == {"role": "editor"}
    assert s.client.get("/v1/session", headers=bearer(again)).status == 401
    assert admin_patch(s, "no-such-user", {"app_metadata": {"a": 1}}).status == 404


# -- the data export -------------------------------------------------------------

def secrets_in_db(server):
    """Every hash, encrypted value, key and challenge the database holds."""
    out = set()
    with db(server) as con:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
            for c in cols:
                if c.endswith(("_hash", "_enc")) or c in ("public_key", "challenge",
                                                          "replaced_by"):
                    for (v,) in con.execute(f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL"):
                        if isinstance(v, bytes):
                            out.add(v.hex())
                            out.add(base64.urlsafe_b64encode(v).decode().rstrip("="))
                            out.add(base64.b64encode(v).decode())
                        else:
                            out.add(str(v))
    return {x for x in out if len(x) >= 8}


def test_export_holds_everything_about_the_user_and_no_secret(start_server):
    rx = Receiver()
    try:
        s = start_server(env=EXPORT_ENV)
        hook = create_endpoint(s.client, rx.port, types=("session.created",))
        addr = "dana@example.org"
        t = sign_in(s, addr, ua="export-test-agent/1.0")
        uid = t["user"]["id"]
        assert patch_me(s, t, {"user_metadata": {"theme": "dark"}}).status == 200
        assert admin_patch(s, uid, {"app_metadata": {"role": "editor"}}).status == 200
        passkey, _ = register(s, t, SoftAuthenticator(), name="Dana's key")
        secret = enrol(s, t)["secret"]
        codes = confirm(s, t, secret)
        r = s.client.post("/v1/auth/recovery", json={"email": addr, "recovery_code": codes[0]})
        assert r.status == 200, r
        wait_for_mail(s, addr, count=2)
        # The session.created webhooks of both sign-ins were delivered.
        rx.wait(lambda reqs: len(reqs) >= 2)
        other = sign_in(s, "eve@example.org")  # someone else's rows stay out

        r = s.client.get("/v1/me/export", headers=bearer(t))
        assert r.status == 200, r
        assert r.header("content-disposition") == \
            f'attachment; filename="account-export-{uid}.json"'
        assert r.header("cache-control") == "no-store"
        doc = r.json()
        openapi_check.validate(doc, "DataExport")
        assert doc["format"] == "passwordless-auth.export.v1" and doc["user_id"] == uid

        p = doc["profile"]
        assert (p["id"], p["email"], p["disabled"]) == (uid, addr, False)
        assert p["user_metadata"] == {"theme": "dark"}
        assert p["app_metadata"] == {"role": "editor"}

        sessions = {x["id"]: x for x in doc["sessions"]}
        assert t["session_id"] in sessions
        assert sessions[t["session_id"]]["user_agent"] == "export-test-agent/1.0"
        assert sessions[t["session_id"]]["amr"] == ["otp"]
        assert len(sessions) == 2  # the code sign-in and the recovery one
        assert other["session_id"] not in sessions

        with db(s) as con:
            aaguid = con.execute("SELECT aaguid FROM webauthn_credentials").fetchone()[0]
        [pk] = doc["passkeys"]
        assert pk["id"] == passkey["id"] and pk["name"] == "Dana's key"
        assert pk["aaguid"] == aaguid and pk["created_at"] > 0
        assert "public_key" not in pk and set(pk["transports"]) == {"hybrid", "internal"}

        assert isinstance(doc["totp"]["enabled_at"], int)
        assert doc["recovery_codes"]["remaining"] == 9 and doc["recovery_codes"]["used"] == 1

        kinds = {m["kind"] for m in doc["mail"]}
        assert len(doc["mail"]) >= 2 and all(m["locale"] for m in doc["mail"])
        assert all(isinstance(m["created_at"], int) for m in doc["mail"])
        with db(s) as con:
            templates = {r[0] for r in con.execute(
                "SELECT template FROM mail_jobs WHERE to_email = ?", (addr,))}
        assert kinds == templates and len(kinds) >= 2

        types = {e["type"] for e in doc["audit_events"]}
        assert {"session.created", "account.updated", "totp.confirmed"} <= types, types
        assert all(isinstance(e["success"], bool) for e in doc["audit_events"])

        assert len(doc["webhook_deliveries"]) == 2
        for d in doc["webhook_deliveries"]:
            assert d["endpoint_id"] == hook["id"] and d["event_type"] == "session.created"
            assert d["payload"]["data"]["user_id"] == uid
        assert len(doc["email_sign_ins"]) == 1

        # No secret: not the tokens, codes, TOTP secret or webhook secret the
        # test knows, and no hash, key or ciphertext of the database.
        raw = r.text
        known = {t["access_token"], t["refresh_token"], secret, hook["secret"], *codes}
        for x in known | secrets_in_db(s):
            assert x not in raw, x

        # The operator's export of the same user: the same document.
        a = s.client.get(f"/v1/admin/users/{uid}/export", headers=ADM)
        assert a.status == 200, a
        assert a.header("cache-control") == "no-store"
        assert a.header("content-disposition").startswith("attachment;")
        adoc = a.json()
        assert adoc["profile"] == doc["profile"] and adoc["passkeys"] == doc["passkeys"]
        assert [e["type"] for e in adoc["audit_events"]][-1] == "account.exported"
        assert s.client.get("/v1/admin/users/nobody/export", headers=ADM).status == 404
        assert s.client.get(f"/v1/admin/users/{uid}/export", headers=bearer(t)).status == 401
        wait_until(lambda: audit_events(s, uid, "user.exported_by_admin"),
                   what="the admin export's audit event")
    finally:
        rx.stop()


def test_export_needs_a_recent_sign_in(start_server, tmp_path):
    s, old = stale_session(start_server, tmp_path, "fay@example.org")
    r = s.client.get("/v1/me/export", headers=bearer(old))
    assert r.status == 403, r
    assert r.json()["error"]["code"] == "reauthentication_required"
    assert r.header("content-disposition") is None
    r = s.client.get("/v1/me/export")
    assert r.status == 401 and r.json()["error"]["code"] == "unauthorized"
