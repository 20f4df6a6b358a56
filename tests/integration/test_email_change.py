"""Issue #17, email change: POST /v1/me/email (recent sign-in) mails the new
address a link and a code and the old address a notice with a "this was not
me" link; the address changes only when the new address confirms; the old
address may cancel (restore, revoke the sessions since). A taken address
gets the same answer and the same notice; its owner is told, and nothing
reaches the requester that says so. Real binary, real HTTP, real outbox."""
import concurrent.futures
import json
import re

import openapi_check
from conftest import wait_until
from pa_flows import bearer, new_mail, outbox_files, outbox_messages, sign_in
from test_admin import ADMIN, adm
from test_reauth import stale_session
from test_webhooks import Receiver, create_endpoint

CONFIRM_RE = re.compile(r"(http\S+/v1/email-change/confirm\?token=([A-Za-z0-9_-]+))")
CANCEL_RE = re.compile(r"(http\S+/v1/email-change/cancel\?token=([A-Za-z0-9_-]+))")


def text_of(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def request_change(server, tokens, new_email):
    """POST /v1/me/email; returns the response and the outbox files that
    were there before (for new_mail)."""
    seen = {f.name for f in outbox_files(server)}
    r = server.client.post("/v1/me/email", json={"new_email": new_email},
                           headers=bearer(tokens))
    return r, seen


def confirm_parts(msg):
    text = text_of(msg)
    m = CONFIRM_RE.search(text)
    code = re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)
    return m.group(1), m.group(2), code


def cancel_token(msg):
    return CANCEL_RE.search(text_of(msg)).group(2)


def me(server, tokens):
    return server.client.get("/v1/me", headers=bearer(tokens))


def audit_types(server, user_id, wanted):
    """The audit event types about `user_id` once all of `wanted` are there
    (the auditor writes in batches)."""
    def read():
        r = server.client.get(f"/v1/admin/audit?user_id={user_id}&limit=100", headers=adm())
        assert r.status == 200, r
        types = [e["type"] for e in r.json()["events"]]
        return types if set(wanted) <= set(types) else None
    return wait_until(read, what=f"audit events {wanted}")


def test_change_by_link_needs_the_button_and_works_once(start_server):
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN})
    t = sign_in(s, "ann@example.org")
    r, seen = request_change(s, t, "Ann.New@Example.org")
    assert r.status == 202, r
    assert r.json() == {"status": "pending", "expires_in": 600}
    assert r.header("cache-control") == "no-store"
    confirm = new_mail(s, "ann.new@example.org", seen)
    notice = new_mail(s, "ann@example.org", seen)
    link, token, _ = confirm_parts(confirm)
    assert "ann.new@example.org" in text_of(notice)
    assert cancel_token(notice)
    # The page only reads: a mail scanner fetching it changes nothing.
    assert link.startswith("http://localhost:3000/v1/email-change/confirm?token=")
    for _ in range(2):
        page = s.client.get("/v1/email-change/confirm?token=" + token)
        assert page.status == 200, page
        assert "ann.new@example.org" in page.text
        assert 'action="/v1/email-change/confirm"' in page.text
    assert me(s, t).json()["email"] == "ann@example.org"
    ok = s.client.post("/v1/email-change/confirm", json={"token": token})
    assert ok.status == 200, ok
    assert ok.json() == {"status": "confirmed", "email": "ann.new@example.org"}
    # At once, in the session cache too.
    assert me(s, t).json()["email"] == "ann.new@example.org"
    assert s.client.get("/v1/session", headers=bearer(t)).json()["user"]["email"] \
        == "ann.new@example.org"
    again = s.client.post("/v1/email-change/confirm", json={"token": token})
    assert again.status == 400 and again.json()["error"]["code"] == "invalid_link"
    assert again.json()["error"]["request_id"] == again.header("x-request-id")
    # The page of a used link offers nothing.
    used = s.client.get("/v1/email-change/confirm?token=" + token)
    assert used.status == 400 and "confirm-change" not in used.text
    # The new address signs in to the same account; the old one is free.
    t2 = sign_in(s, "ann.new@example.org")
    assert t2["user"]["id"] == t["user"]["id"]
    audit_types(s, t["user"]["id"], ["user.email_change_requested",
                                     "user.email_change_confirmed"])


def test_change_by_code_counts_attempts_and_works_once(server):
    t = sign_in(server, "cody@example.org")
    r, seen = request_change(server, t, "cody2@example.org")
    assert r.status == 202
    _, _, code = confirm_parts(new_mail(server, "cody2@example.org", seen))
    wrong = "000000" if code != "000000" else "111111"
    bad = server.client.post("/v1/me/email/confirm", json={"code": wrong}, headers=bearer(t))
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_code", bad
    assert me(server, t).json()["email"] == "cody@example.org"
    ok = server.client.post("/v1/me/email/confirm", json={"code": code}, headers=bearer(t))
    assert ok.status == 200, ok
    assert ok.json()["email"] == "cody2@example.org"
    assert ok.json()["id"] == t["user"]["id"]
    replay = server.client.post("/v1/me/email/confirm", json={"code": code}, headers=bearer(t))
    assert replay.status == 400 and replay.json()["error"]["code"] == "flow_expired", replay


def test_the_fifth_wrong_code_ends_the_request(server):
    t = sign_in(server, "dora@example.org")
    _, seen = request_change(server, t, "dora2@example.org")
    _, token, code = confirm_parts(new_mail(server, "dora2@example.org", seen))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = server.client.post("/v1/me/email/confirm", json={"code": wrong}, headers=bearer(t))
        assert r.json()["error"]["code"] == "invalid_code", r
    r = server.client.post("/v1/me/email/confirm", json={"code": code}, headers=bearer(t))
    assert r.status == 400 and r.json()["error"]["code"] == "flow_expired", r
    # The link of the ended request is dead too.
    r = server.client.post("/v1/email-change/confirm", json={"token": token})
    assert r.json()["error"]["code"] == "invalid_link"
    assert me(server, t).json()["email"] == "dora@example.org"


def normalised(text, new_email):
    """A notice with what differs between two requests blanked out."""
    text = CANCEL_RE.sub("LINK", text).replace(new_email, "NEW")
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "TIME", text)


def test_a_taken_address_gets_the_same_answer_and_only_its_owner_learns(server):
    owner = sign_in(server, "bob@example.org")
    t = sign_in(server, "eve@example.org")
    free, seen_free = request_change(server, t, "free@example.org")
    free_notice = new_mail(server, "eve@example.org", seen_free)
    new_mail(server, "free@example.org", seen_free)
    taken, seen = request_change(server, t, "bob@example.org")
    assert (taken.status, taken.json()) == (free.status, free.json())
    assert set(taken.headers) == set(free.headers)
    # The owner is told, in a mail with no link or code that could change anything.
    in_use = new_mail(server, "bob@example.org", seen)
    body = text_of(in_use)
    assert "/v1/email-change/confirm" not in body and not re.search(r"^\s+\d{6}\s*$", body, re.M)
    assert "eve@example.org" not in body
    # The requester's own mailbox gets the same notice as for a free address.
    notice = new_mail(server, "eve@example.org", seen)
    assert normalised(text_of(notice), "bob@example.org") == \
        normalised(text_of(free_notice), "free@example.org")
    assert notice["Subject"] == free_notice["Subject"]
    # Nothing else went to the requester; nothing changed.
    wait_until(lambda: len([m for m in outbox_messages(server)
                            if "bob@example.org" in str(m["To"])]) >= 2,
               what="the owner's mails (sign-in and notice)")
    to_eve = [m for m in outbox_messages(server) if "eve@example.org" in str(m["To"])]
    assert len(to_eve) == 3  # sign-in, and one notice per request
    for m in to_eve:
        assert "someone tried" not in text_of(m).lower()
    assert me(server, t).json()["email"] == "eve@example.org"
    assert me(server, owner).json()["email"] == "bob@example.org"
    # Guessing the code of the taken request fails like any wrong code.
    r = server.client.post("/v1/me/email/confirm", json={"code": "123456"}, headers=bearer(t))
    assert r.json()["error"]["code"] == "invalid_code"


def test_the_current_address_gets_the_same_answer_and_no_mail(server):
    t = sign_in(server, "same@example.org")
    seen = {f.name for f in outbox_files(server)}
    r = server.client.post("/v1/me/email", json={"new_email": " SAME@example.org "},
                           headers=bearer(t))
    assert r.status == 202 and r.json() == {"status": "pending", "expires_in": 600}
    # A later request's mails arrive; none came for the first.
    _, seen2 = request_change(server, t, "other@example.org")
    new_mail(server, "other@example.org", seen2)
    new_mail(server, "same@example.org", seen2)
    new_files = [f for f in outbox_files(server) if f.name not in seen]
    assert len(new_files) == 2


def test_a_stale_sign_in_is_refused(start_server, tmp_path):
    s, old = stale_session(start_server, tmp_path, "stale@example.org")
    seen = {f.name for f in outbox_files(s)}
    r = s.client.post("/v1/me/email", json={"new_email": "x@example.org"}, headers=bearer(old))
    assert r.status == 403 and r.json()["error"]["code"] == "reauthentication_required", r
    openapi_check.validate(r.json(), "ReauthForbiddenError")
    assert [f for f in outbox_files(s) if f.name not in seen] == []


def test_cancel_restores_the_old_address_and_revokes_the_sessions_since(start_server):
    rx = Receiver()
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN, "PA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
                          "PA_WEBHOOKS_POLL_INTERVAL": "0.2"})
    create_endpoint(s.client, rx.port, types=("user.email_change_requested",
                                              "user.email_change_confirmed",
                                              "user.email_change_cancelled"))
    try:
        t = sign_in(s, "fay@example.org")
        _, seen = request_change(s, t, "mallory@example.org")
        confirm = new_mail(s, "mallory@example.org", seen)
        cancel = cancel_token(new_mail(s, "fay@example.org", seen))
        _, token, _ = confirm_parts(confirm)
        assert s.client.post("/v1/email-change/confirm", json={"token": token}).status == 200
        # Whoever asked signs in with the new address: a session since the request.
        intruder = sign_in(s, "mallory@example.org")
        assert intruder["user"]["id"] == t["user"]["id"]
        # The cancel page only shows a button.
        page = s.client.get("/v1/email-change/cancel?token=" + cancel)
        assert page.status == 200 and 'action="/v1/email-change/cancel"' in page.text
        assert s.client.get("/v1/session", headers=bearer(intruder)).status == 200
        r = s.client.post("/v1/email-change/cancel", json={"token": cancel})
        assert r.status == 200, r
        assert r.json() == {"status": "cancelled", "restored": True, "sessions_revoked": 2}
        # Revoked at once (the session actor's cache), the asking one too.
        for tok in (intruder, t):
            assert s.client.get("/v1/session", headers=bearer(tok)).status == 401
        again = s.client.post("/v1/email-change/cancel", json={"token": cancel})
        assert again.status == 400 and again.json()["error"]["code"] == "invalid_link"
        back = sign_in(s, "fay@example.org")
        assert back["user"]["id"] == t["user"]["id"]
        assert me(s, back).json()["email"] == "fay@example.org"
        audit_types(s, t["user"]["id"], ["user.email_change_requested",
                                         "user.email_change_confirmed",
                                         "user.email_change_cancelled"])
        reqs = rx.wait(lambda rs: len(rs) >= 3)
        hooks = sorted(json.loads(b)["type"] for _, b, _ in reqs)
        assert hooks == ["user.email_change_cancelled", "user.email_change_confirmed",
                         "user.email_change_requested"]
        for _, b, _ in reqs:
            assert cancel not in b.decode() and token not in b.decode()
    finally:
        rx.stop()


def test_a_pending_request_can_be_cancelled_and_then_not_confirmed(server):
    t = sign_in(server, "gil@example.org")
    _, seen = request_change(server, t, "gil2@example.org")
    _, token, code = confirm_parts(new_mail(server, "gil2@example.org", seen))
    cancel = cancel_token(new_mail(server, "gil@example.org", seen))
    r = server.client.post("/v1/email-change/cancel", json={"token": cancel})
    assert r.status == 200 and r.json()["restored"] is False
    r = server.client.post("/v1/email-change/confirm", json={"token": token})
    assert r.json()["error"]["code"] == "invalid_link"


def test_forms_from_our_pages_work_and_cross_site_forms_are_refused(server):
    t = sign_in(server, "hal@example.org")
    _, seen = request_change(server, t, "hal2@example.org")
    _, token, _ = confirm_parts(new_mail(server, "hal2@example.org", seen))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    evil = server.client.post("/v1/email-change/confirm", body=f"token={token}".encode(),
                              headers={**form, "Origin": "https://evil.example"})
    assert evil.status == 403 and 'data-error="cross_site_request"' in evil.text
    assert me(server, t).json()["email"] == "hal@example.org"
    # The service's own origin (public_url, http://localhost:3000 by default).
    ok = server.client.post("/v1/email-change/confirm", body=f"token={token}".encode(),
                            headers={**form, "Origin": "http://localhost:3000"})
    assert ok.status == 200 and 'data-ok="true"' in ok.text, ok
    assert me(server, t).json()["email"] == "hal2@example.org"


def test_malformed_requests_get_the_documented_errors(server):
    t = sign_in(server, "ivy@example.org")
    c = server.client
    h = bearer(t)
    cases = [
        ("POST", "/v1/me/email", b"new_email=x", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        ("POST", "/v1/me/email", b"{not json", {"Content-Type": "application/json"}, 400, "invalid_json"),
        ("POST", "/v1/me/email", b"{}", {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/me/email", b'{"new_email": 5}', {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/me/email", b'{"new_email": "not-an-address"}', {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/me/email/confirm", b'{"code": "12ab56"}', {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/me/email/confirm", b'[]', {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/email-change/confirm", b'{"token": ""}', {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/email-change/cancel", b'{"token": 1}', {"Content-Type": "application/json"}, 422, "validation_failed"),
        ("POST", "/v1/email-change/cancel", b'{"token": "nope"}', {"Content-Type": "application/json"}, 400, "invalid_link"),
    ]
    for method, path, body, headers, status, code in cases:
        r = c.request(method, path, body=body, headers={**h, **headers})
        assert r.status == status, (path, body, r)
        err = r.json()["error"]
        assert err["code"] == code, (path, body, err)
        assert err["request_id"] == r.header("x-request-id")
        if code == "validation_failed" and path == "/v1/me/email":
            assert "new_email" in err["details"]
    # Without a bearer token: 401 with WWW-Authenticate.
    r = c.post("/v1/me/email", json={"new_email": "x@example.org"})
    assert r.status == 401 and r.header("www-authenticate").startswith("Bearer")
    r = c.post("/v1/me/email/confirm", json={"code": "123456"})
    assert r.status == 401
    # Nothing was asked: no pending request to confirm.
    r = c.post("/v1/me/email/confirm", json={"code": "123456"}, headers=h)
    assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"
    assert me(server, t).json()["email"] == "ivy@example.org"
    # A page without a token offers nothing.
    for path in ("/v1/email-change/confirm", "/v1/email-change/cancel"):
        p = c.get(path)
        assert p.status == 400 and "<form" not in p.text


def test_concurrent_changes_to_one_mailbox_keep_its_send_cap(start_server):
    # The read of a request only decides; the unit that writes it checks the
    # new mailbox's budget again (db::flows_store::send_budget_guard), so
    # requests that all read a budget with mail left cannot all send. Eight
    # accounts ask for the same new address at once with a cap of 2: at most
    # two confirmation mails reach it, every request gets the same 202, and
    # the audit says which were suppressed. (Without the guard in the unit,
    # every request that read before the first write sends.)
    cap = 2
    s = start_server(env={"PA_ADMIN_API_KEY": ADMIN},
                     args=["--set", f"auth.email_hourly_cap={cap}",
                           "--set", "auth.email_min_interval=0"])
    users = [sign_in(s, f"racer{i}@example.org") for i in range(8)]
    target = "contested@example.org"
    with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
        answers = list(pool.map(
            lambda t: s.client.post("/v1/me/email", json={"new_email": target},
                                    headers=bearer(t)), users))
    assert all(r.status == 202 for r in answers), answers
    assert len({json.dumps(r.json(), sort_keys=True) for r in answers}) == 1

    def outcomes():
        out = []
        for t in users:
            uid = me(s, t).json()["id"]
            r = s.client.get(f"/v1/admin/audit?user_id={uid}&type=user.email_change_requested",
                             headers=adm())
            assert r.status == 200, r
            out += [e["metadata"]["outcome"] for e in r.json()["events"]
                    if e["type"] == "user.email_change_requested"]
        return out if len(out) == len(users) else None
    kinds = wait_until(outcomes, what="an audit event per request")
    sent = kinds.count("change")
    assert 1 <= sent <= cap, kinds
    assert kinds.count("suppressed") == len(users) - sent, kinds
    # Exactly as many confirmations reached the mailbox as were let through.
    wait_until(lambda: len([m for m in outbox_messages(s)
                            if target in str(m["To"])]) == sent,
               what=f"{sent} mails to {target}")
