"""Security review #11 on email sign-in, over real HTTP with a real outbox:
the cross-device hand-over (approval + number matching), login CSRF on the
confirmation form, the redirect allow list and plus-tag mail budgets."""
import html
import json
import re

import db_access
from conftest import MAIL_SCANS, wait_scans, wait_until
from pa_flows import (bearer, mail_link_and_code, new_mail, outbox_files,
                      start, wait_for_mail)

# The tests' public_url (links in mails point there); a browser showing our
# own confirmation page sends this Origin, or Sec-Fetch-Site: same-origin.
PUBLIC = "http://localhost:3000"
SAME_ORIGIN = {"Origin": PUBLIC}
ATTACKER_UA = "AttackerPhone/1.0 (totally your laptop)"


def db(server):
    return db_access.connect(server.workdir / "auth.db", isolation_level=None)


def wait_audit(server, event_type):
    def rows():
        with db(server) as con:
            return con.execute("SELECT success, metadata, ip FROM audit_logs "
                               "WHERE event_type = ?", (event_type,)).fetchall()
    return wait_until(rows, what=f"an audit event {event_type}")


def attacker_start(server, addr):
    """The attacker starts a sign-in for the victim's address and keeps the
    flow (id, secret, match number) to itself."""
    r = server.client.post("/v1/auth/email/start", json={"email": addr},
                           headers={"User-Agent": ATTACKER_UA})
    assert r.status == 202, r
    return r.json()


def link_token(server, addr):
    msg = wait_for_mail(server, addr)[-1]
    _, token, _ = mail_link_and_code(msg)
    return token


def exchange(server, flow):
    return server.client.post("/v1/auth/email/exchange", json={
        "flow_id": flow["flow_id"], "flow_secret": flow["flow_secret"]})


def confirm(server, token, headers=SAME_ORIGIN, **fields):
    return server.client.post("/v1/auth/email/link",
                              form={"token": token, **fields}, headers=headers)


def choices_on_page(page_text):
    """The numbers the confirmation page offers for the hand-over."""
    return [int(v) for v in re.findall(
        r'<button[^>]*name="match"[^>]*value="(\d+)"', page_text)]


def session_count(server):
    with db(server) as con:
        return con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]


# -- (A) cross-device hand-over --------------------------------------------------------

def test_start_returns_a_two_digit_match_number(server):
    flow = start(server.client, "n@example.com")
    assert isinstance(flow["match_number"], int)
    assert 10 <= flow["match_number"] <= 99


def test_attacker_started_flow_plain_confirm_signs_in_the_victims_browser_only(server):
    c = server.client
    flow = attacker_start(server, "victim@example.com")
    token = link_token(server, "victim@example.com")
    assert exchange(server, flow).status == 202  # the attacker polls
    # The victim presses the default "Sign in" button.
    r = confirm(server, token)
    assert r.status == 303, r
    loc = r.header("location")
    assert loc.startswith(PUBLIC + "/login#code="), loc
    code = loc.split("#code=", 1)[1]
    t = c.post("/v1/auth/exchange", json={"code": code})
    assert t.status == 200 and t.json()["user"]["email"] == "victim@example.com"
    assert c.get("/v1/session", headers=bearer(t.json())).status == 200
    # The attacker's polling collects nothing, now or later.
    for _ in range(2):
        r = exchange(server, flow)
        assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"
    assert session_count(server) == 1


def test_json_confirm_signs_in_the_caller_only(server):
    flow = attacker_start(server, "jv@example.com")
    token = link_token(server, "jv@example.com")
    r = server.client.post("/v1/auth/email/link", json={"token": token})
    assert r.status == 200 and r.json()["user"]["email"] == "jv@example.com"
    r = exchange(server, flow)
    assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"
    assert session_count(server) == 1


def test_approval_with_the_right_number_hands_the_session_to_the_starter(server):
    flow = start(server.client, "me@example.com")  # my own laptop
    token = link_token(server, "me@example.com")
    page = server.client.get(f"/v1/auth/email/link?token={token}")
    offered = choices_on_page(page.text)
    assert len(offered) == 3 and len(set(offered)) == 3
    assert flow["match_number"] in offered
    # Reloading the page offers the same three numbers (no elimination).
    again = server.client.get(f"/v1/auth/email/link?token={token}")
    assert choices_on_page(again.text) == offered
    r = confirm(server, token, action="approve", match=str(flow["match_number"]))
    assert r.status == 200, r
    assert 'data-ok="true"' in r.text and r.header("location") is None
    assert session_count(server) == 0  # the approving browser got nothing
    t = exchange(server, flow)
    assert t.status == 200, t
    assert t.json()["user"]["email"] == "me@example.com"
    again = exchange(server, flow)
    assert again.status == 400 and again.json()["error"]["code"] == "flow_expired"
    assert session_count(server) == 1
    rows = wait_audit(server, "email.handover_approved")
    assert rows[0][0] == 1


def test_approval_with_a_wrong_number_refuses_burns_and_audits(server):
    flow = attacker_start(server, "pick@example.com")
    token = link_token(server, "pick@example.com")
    page = server.client.get(f"/v1/auth/email/link?token={token}")
    wrong = [n for n in choices_on_page(page.text) if n != flow["match_number"]]
    assert len(wrong) == 2
    r = confirm(server, token, action="approve", match=str(wrong[0]))
    assert r.status == 400, r
    assert 'data-ok="false"' in r.text
    r = exchange(server, flow)
    assert r.status == 400 and r.json()["error"]["code"] == "flow_expired"
    # Burnt: neither the right number nor a plain confirm works afterwards.
    r = confirm(server, token, action="approve", match=str(flow["match_number"]))
    assert r.status == 400
    assert confirm(server, token).status == 400
    assert exchange(server, flow).status == 400
    assert session_count(server) == 0
    rows = wait_audit(server, "email.handover_refused")
    assert rows[0][0] == 0
    assert json.loads(rows[0][1])["flow_id"] == flow["flow_id"]


def test_json_approval_needs_the_number_too(server):
    flow = start(server.client, "api@example.com")
    token = link_token(server, "api@example.com")
    wrong = 10 if flow["match_number"] != 10 else 11
    r = server.client.post("/v1/auth/email/link", json={
        "token": token, "action": "approve", "match_number": wrong})
    assert r.status == 400 and r.json()["error"]["code"] == "handover_refused"
    assert exchange(server, flow).status == 400
    seen = {f.name for f in outbox_files(server)}
    flow = start(server.client, "api@example.com")
    _, token, _ = mail_link_and_code(new_mail(server, "api@example.com", seen))
    r = server.client.post("/v1/auth/email/link", json={
        "token": token, "action": "approve", "match_number": flow["match_number"]})
    assert r.status == 200 and r.json() == {"status": "approved"}
    assert exchange(server, flow).status == 200


def test_confirmation_page_shows_who_asked_and_a_not_me_path(server):
    flow = attacker_start(server, "who@example.com")
    token = link_token(server, "who@example.com")
    page = server.client.get(f"/v1/auth/email/link?token={token}")
    assert page.status == 200
    text = html.unescape(page.text)
    assert re.search(r'id="req-ip"[^>]*>\s*127\.0\.0\.1\s*<', text), text
    assert re.search(r'id="req-device"[^>]*>\s*' + re.escape(ATTACKER_UA) + r"\s*<", text)
    assert re.search(r'id="req-time"[^>]*>\s*\d{4}-\d\d-\d\d \d\d:\d\d UTC\s*<', text)
    assert 'value="deny"' in text and "This was not me" in text
    # "This was not me" cancels the flow: nobody gets a session.
    r = confirm(server, token, action="deny")
    assert r.status == 200 and 'data-ok="false"' not in r.text
    assert exchange(server, flow).status == 400
    assert confirm(server, token).status == 400
    assert session_count(server) == 0
    rows = wait_audit(server, "email.sign_in_reported")
    assert json.loads(rows[0][1])["flow_id"] == flow["flow_id"]
    # A used link shows no request details any more.
    page = server.client.get(f"/v1/auth/email/link?token={token}")
    assert "req-ip" not in page.text and 'name="token"' not in page.text


def test_evil_user_agent_is_cut_and_cleaned_in_mail_and_page(server):
    evil = (b"Evil\t\tBrowser\t[31m \xe2\x80\xae\xc2\x9bgnp.exe \xff\x80 "
            + b"A" * 400 + b" tail-that-must-not-show")
    r = server.client.post("/v1/auth/email/start", json={"email": "ua@example.com"},
                           headers={"User-Agent": evil})
    assert r.status == 202
    msg = wait_for_mail(server, "ua@example.com")[0]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    device = re.search(r"^Device: (.*)$", body, re.M).group(1).rstrip("\r")
    html_body = msg.get_body(preferencelist=("html",)).get_content()
    _, token, _ = mail_link_and_code(msg)
    page = server.client.get(f"/v1/auth/email/link?token={token}")
    shown = html.unescape(re.search(r'id="req-device"[^>]*>([^<]*)<', page.text).group(1)).strip()
    for text in (device, shown):
        assert 20 <= len(text) <= 100, text
        assert all(0x20 <= ord(ch) < 0x7f for ch in text), repr(text)
        assert text.startswith("Evil Browser")
        assert "tail-that-must-not-show" not in text
    assert "\t" not in device and "\u202e" not in html_body and "\u009b" not in html_body
    assert "tail-that-must-not-show" not in html_body


# -- (B) login CSRF on the confirmation form -----------------------------------------

def test_confirmation_form_refuses_cross_site_posts(server):
    start(server.client, "csrf@example.com")
    token = link_token(server, "csrf@example.com")
    for headers in [{"Origin": "https://evil.example"},
                    {"Origin": "http://localhost:3000.evil.example"},
                    {"Origin": "null"},
                    {"Origin": PUBLIC, "Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"},
                    {}]:
        r = confirm(server, token, headers=headers)
        assert r.status == 403, (headers, r)
        assert r.header("content-type").startswith("text/html")
        assert 'data-error="cross_site_request"' in r.text
    assert session_count(server) == 0
    # Nothing was consumed: a same-origin post still works.
    r = confirm(server, token, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert r.status == 303, r


def test_confirmation_form_accepts_same_origin_signals(server):
    for i, headers in enumerate([{"Origin": PUBLIC},
                                 {"Sec-Fetch-Site": "same-origin"},
                                 {"Sec-Fetch-Site": "none"}]):
        addr = f"ok{i}@example.com"
        start(server.client, addr)
        r = confirm(server, link_token(server, addr), headers=headers)
        assert r.status == 303, (headers, r)


def test_cross_site_form_post_with_json_accept_gets_the_json_error(server):
    start(server.client, "csrfj@example.com")
    token = link_token(server, "csrfj@example.com")
    r = confirm(server, token, headers={"Origin": "https://evil.example",
                                        "Accept": "application/json"})
    assert r.status == 403
    assert r.json()["error"]["code"] == "cross_site_request"
    assert r.json()["error"]["request_id"] == r.header("x-request-id")


def test_json_confirm_is_not_subject_to_the_form_origin_check(server):
    start(server.client, "jsonok@example.com")
    token = link_token(server, "jsonok@example.com")
    r = server.client.post("/v1/auth/email/link", json={"token": token},
                           headers={"Origin": "https://other.example"})
    assert r.status == 200, r


# -- (C) redirect allow list ---------------------------------------------------------

def test_redirect_allow_list_matches_origin_and_path_segments(start_server):
    s = start_server(env={"PA_AUTH_REDIRECT_ALLOW_LIST": "https://app.example/cb"})
    for target, ok in [("https://app.example/cb", True),
                       ("https://app.example/cb/", True),
                       ("https://app.example/cb/deeper?x=1", True),
                       ("https://app.example:443/cb", True),
                       ("https://app.example/cbevil", False),
                       ("https://app.example.evil.com/cb", False),
                       ("https://app.example:8443/cb", False),
                       ("http://app.example/cb", False),
                       ("https://app.example/cb/..;/admin", False),
                       ("https://app.example/cb/%2e%2e;x/admin", False)]:
        r = s.client.post("/v1/auth/email/start",
                          json={"email": "rd@example.com", "redirect_to": target})
        assert r.status == (202 if ok else 422), (target, r)


def test_a_redirect_removed_from_the_allow_list_is_not_followed(start_server, tmp_path):
    work = tmp_path / "redir"
    s = start_server(workdir=work,
                     env={"PA_AUTH_REDIRECT_ALLOW_LIST": "https://old.example/cb"})
    start(s.client, "old@example.com", redirect_to="https://old.example/cb")
    token = link_token(s, "old@example.com")
    assert s.stop() == 0
    s2 = start_server(workdir=work,
                      env={"PA_AUTH_REDIRECT_ALLOW_LIST": "https://new.example/cb"})
    r = confirm(s2, token)
    assert r.status == 303
    assert r.header("location").startswith(PUBLIC + "/login#code="), r.header("location")


# -- (E) plus-tag variants share one send budget ---------------------------------------

def test_plus_tag_variants_share_one_hourly_send_budget(start_server):
    s = start_server(env={"PA_AUTH_EMAIL_HOURLY_CAP": "3"})
    addrs = [f"Bomb+{i}@Example.com" for i in range(6)] + ["bomb@example.com"]
    for a in addrs:
        r = s.client.post("/v1/auth/email/start", json={"email": a})
        assert r.status == 202, r
    wait_until(lambda: len(outbox_files(s)) >= 3, what="three mails")
    wait_scans(s, MAIL_SCANS)  # a fourth queued mail would be out by now
    msgs = wait_for_mail(s, "@example.com", count=3)
    assert len(msgs) == 3, [str(m["To"]) for m in msgs]
    # Each mail went to the address as typed (normalised), tag kept.
    assert sorted(str(m["To"]) for m in msgs) == [f"bomb+{i}@example.com" for i in range(3)]
    # Another mailbox is not affected.
    start(s.client, "other+1@example.com")
    wait_for_mail(s, "other+1@example.com")


def test_plus_tag_variants_share_one_per_address_rate_limit(start_server):
    s = start_server(env={"PA_RATE_LIMIT_POLICIES": "email_send_per_address=2/3600,"
                                                     "email_send_per_ip=1000/3600"})
    statuses = [s.client.post("/v1/auth/email/start",
                              json={"email": f"rl+{i}@example.com"}).status
                for i in range(4)]
    assert statuses == [202, 202, 429, 429], statuses
    assert s.client.post("/v1/auth/email/start",
                         json={"email": "someone@example.com"}).status == 202


def test_a_broken_utf8_user_agent_cannot_break_a_security_notice(server):
    # Cutting the raw header at a byte count could split a UTF-8 sequence,
    # and the mail job's JSON then failed (500 for email/start or logout).
    evil = b"Evil/1.0  " + b"\xe2\x80\xae" * 60 + b"\xe2\x80"
    r = server.client.post("/v1/auth/email/start", json={"email": "notice@example.com"},
                           headers={"User-Agent": evil})
    assert r.status == 202, r
    flow = r.json()
    msg = wait_for_mail(server, "notice@example.com")[0]
    _, _, code = mail_link_and_code(msg)
    t = server.client.post("/v1/auth/email/verify-code",
                           json={"flow_id": flow["flow_id"], "code": code},
                           headers={"User-Agent": evil})
    assert t.status == 200, t
    r = server.client.post("/v1/auth/logout", json={"scope": "global"},
                           headers={**bearer(t.json()), "User-Agent": evil})
    assert r.status == 204, r
    notice = wait_for_mail(server, "notice@example.com", count=2)[-1]
    body = notice.get_body(preferencelist=("plain",)).get_content()
    assert re.search(r"^Device: Evil/1\.0\r?$", body, re.M), body
