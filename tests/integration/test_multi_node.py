"""Three nodes on one PostgreSQL (issue 14, "every node sees every change"):
a real PostgreSQL 15 server (tests/tools/pg_server.py), three service
processes with the same PA_AUTH_SECRET_KEY on one fresh database, and each
claim of docs/scale-out.md checked across them over real HTTP. Waits are
polls with a deadline; the only fixed wait is for a grace window to end."""
import base64
import concurrent.futures
import json
import pathlib
import sys
import time
import types

import pytest

from conftest import Server
from pa_flows import bearer, mail_link_and_code, new_sign_in_mail, outbox_files, start

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
from pg_server import PgServer  # noqa: E402

ADMIN = "bootstrap-admin-key-for-tests-0123456789"
GRACE = 3          # tokens.refresh_grace (s)
KEY_RELOAD = 2     # tokens.key_reload_interval (s)
IP_REFRESH = 1     # server.ip_filter_refresh (s)


def adm():
    return {"Authorization": "Bearer " + ADMIN}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    with PgServer() as pg:
        pg.psql("CREATE DATABASE multi OWNER pa")
        url = pg.url.rsplit("/", 1)[0] + "/multi"
        # One outbox for all: whichever node's mailer sends a mail, the test
        # finds it (mail claiming is not what this suite checks).
        env = {"PA_DATABASE_URL": url, "PA_ADMIN_API_KEY": ADMIN,
               "PA_MAIL_OUTBOX_DIR": str(root / "outbox")}
        args = ["--set", f"tokens.refresh_grace={GRACE}",
                "--set", f"tokens.key_reload_interval={KEY_RELOAD}",
                "--set", f"server.ip_filter_refresh={IP_REFRESH}"]
        nodes = [Server(root / name, env=env, args=args, wait_ready=False)
                 for name in ("a", "b", "c")]
        try:
            for n in nodes:
                n.wait_ready()
            yield types.SimpleNamespace(pg=pg, nodes=nodes, root=root,
                                        psql=lambda q: pg.psql(q, db="multi"))
        finally:
            for n in nodes:
                try:
                    n.stop()
                except AssertionError:
                    pass


def sign_in(cluster, node, addr):
    """A code sign-in through `node` (the mail may come from any node)."""
    box = types.SimpleNamespace(workdir=cluster.root, client=node.client)
    seen = {f.name for f in outbox_files(box)}
    flow = start(node.client, addr)
    _, _, code = mail_link_and_code(new_sign_in_mail(box, addr, seen))
    r = node.client.post("/v1/auth/email/verify-code",
                         json={"flow_id": flow["flow_id"], "code": code})
    assert r.status == 200, r
    return r.json()


def until(pred, deadline_s, what):
    """Polls `pred` until true; @returns the seconds it took."""
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > deadline_s:
            raise AssertionError(f"{what}: not within {deadline_s} s")
        time.sleep(0.01)
    return time.monotonic() - t0


def me_status(node, tokens):
    return node.client.get("/v1/me", headers=bearer(tokens)).status


def kid_of(jwt):
    head = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def test_nodes_starting_together_make_one_key_set(cluster):
    # Three nodes started at once on an empty database: one made the keys
    # (under the advisory lock), the others loaded them. The RS256 ID-token
    # key is made with the first OAuth client (issue 16), not at a start.
    algs = cluster.psql("SELECT alg FROM signing_keys ORDER BY alg").split()
    assert algs == ["ES256"]
    jwks = [n.client.get("/.well-known/jwks.json").json() for n in cluster.nodes]
    assert jwks[0] == jwks[1] == jwks[2]


def test_a_token_minted_on_one_node_verifies_on_the_others(cluster):
    a, b, c = cluster.nodes
    t = sign_in(cluster, a, "everywhere@example.org")
    for n in (b, c):
        r = n.client.get("/v1/me", headers=bearer(t))
        assert r.status == 200, r
        assert r.json()["email"] == "everywhere@example.org"
        # Read once, then held: the session list there names it too.
        sessions = n.client.get("/v1/me/sessions", headers=bearer(t)).json()
        assert [s["id"] for s in sessions["sessions"]] == [t["session_id"]]


def test_an_unknown_session_is_read_once_not_per_request(cluster):
    # A session revoked with no change reaching the nodes (written with the
    # triggers off, as if its change row were long purged), its token then
    # presented again and again to a node that never held it: one database
    # read (then the negative cache), not one per request.
    a, b, c = cluster.nodes
    t = sign_in(cluster, a, "replayer@example.org")
    cluster.psql("SET session_replication_role = replica; "
                 "UPDATE sessions SET revoked_at = 1, revoked_reason = 'test' "
                 f"WHERE id = '{t['session_id']}'")
    before = len(c.events("session-read"))
    for _ in range(20):
        assert me_status(c, t) == 401
    reads = [e for e in c.events("session-read")[before:]
             if e.get("session_id") == t["session_id"]]
    assert len(reads) == 1, reads


@pytest.mark.parametrize("how", ["logout", "logout_global", "admin_revoke",
                                 "disable", "delete"])
def test_a_revocation_on_one_node_holds_on_every_node_within_a_second(cluster, how):
    a, b, c = cluster.nodes
    t = sign_in(cluster, a, f"revoked-{how}@example.org")
    # Every node holds the session before it is revoked.
    for n in (a, b, c):
        assert me_status(n, t) == 200
    user_id = t["user"]["id"]
    if how == "logout":
        r = a.client.post("/v1/auth/logout", headers=bearer(t), json={"scope": "local"})
    elif how == "logout_global":
        r = a.client.post("/v1/auth/logout", headers=bearer(t), json={"scope": "global"})
    elif how == "admin_revoke":
        r = a.client.delete(f"/v1/admin/sessions/{t['session_id']}", headers=adm())
    elif how == "disable":
        r = a.client.patch(f"/v1/admin/users/{user_id}", headers=adm(),
                           json={"disabled": True})
    else:
        r = a.client.delete(f"/v1/admin/users/{user_id}", headers=adm())
    assert r.status in (200, 204), r
    for n in (b, c):
        until(lambda n=n: me_status(n, t) == 401, 1.0, f"{how} seen on another node")
    # Nor does its refresh token work anywhere.
    for n in (a, b, c):
        r = n.client.post("/v1/token/refresh", json={"refresh_token": t["refresh_token"]})
        assert r.status in (400, 401), r


def test_a_lost_notification_is_made_up_by_the_change_table(cluster):
    # Cut every listener's connection (their LISTEN and whatever would be
    # notified meanwhile is lost), revoke at once: the poll of
    # session_changes still ends the session on every node within 1 s.
    a, b, c = cluster.nodes
    t = sign_in(cluster, a, "lost-notify@example.org")
    for n in (b, c):
        assert me_status(n, t) == 200
    killed = cluster.pg.psql(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'passwordless-auth-listener'", db="multi")
    assert int(killed) == 3
    assert a.client.post("/v1/auth/logout", headers=bearer(t),
                         json={"scope": "local"}).status == 204
    for n in (b, c):
        until(lambda n=n: me_status(n, t) == 401, 1.0, "revocation without notify")
    # The listeners come back.
    until(lambda: int(cluster.psql(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = "
        "'passwordless-auth-listener'")) == 3, 10, "listeners reconnected")


def refresh(node, token):
    r = node.client.post("/v1/token/refresh", json={"refresh_token": token})
    return r.status, (r.json() if r.status == 200 else r.json()["error"]["code"])


def test_concurrent_refreshes_over_nodes_yield_one_successor(cluster):
    a, b, c = cluster.nodes
    t = sign_in(cluster, a, "racer@example.org")
    # b holds a copy of the session (it will be stale once a node rotates);
    # c has never seen it.
    assert me_status(b, t) == 200
    old = t["refresh_token"]
    jobs = [a, b, c] * 3
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda n: refresh(n, old), jobs))
    assert all(s == 200 for s, _ in results), results
    successors = {body["refresh_token"] for _, body in results}
    assert len(successors) == 1, results
    (successor,) = successors
    assert successor != old
    rows = cluster.psql(
        "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = "
        f"'{t['session_id']}'")
    assert int(rows) == 2  # the first token and its one successor
    # Each access token handed out verifies on every node.
    for n in (a, b, c):
        assert me_status(n, results[0][1]) == 200
    # After the grace window the old token is a reuse: the family dies on
    # every node. (The one fixed wait: the window has to end.)
    replaced_at = int(cluster.psql(
        "SELECT replaced_at FROM refresh_tokens WHERE replaced_at IS NOT NULL "
        f"AND session_id = '{t['session_id']}'"))
    time.sleep(max(0.0, replaced_at + GRACE + 1 - time.time()))
    assert refresh(c, old) == (401, "refresh_token_reused")
    for n in (a, b):
        until(lambda n=n: me_status(n, results[0][1]) == 401, 1.0, "family revoked")
        assert refresh(n, successor)[0] in (400, 401)


def test_one_link_consumed_by_two_nodes_at_once(cluster):
    a, b, c = cluster.nodes
    box = types.SimpleNamespace(workdir=cluster.root, client=a.client)
    seen = {f.name for f in outbox_files(box)}
    start(a.client, "linked@example.org")
    _, token, _ = mail_link_and_code(new_sign_in_mail(box, "linked@example.org", seen))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(
            lambda n: n.client.post("/v1/auth/email/link", json={"token": token}).status,
            [b, c]))
    assert sorted(codes) == [200, 400], codes
    # And one code, tried on two nodes at once.
    seen = {f.name for f in outbox_files(box)}
    flow = start(a.client, "coded@example.org")
    _, _, code = mail_link_and_code(new_sign_in_mail(box, "coded@example.org", seen))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(
            lambda n: n.client.post("/v1/auth/email/verify-code",
                                    json={"flow_id": flow["flow_id"], "code": code}).status,
            [b, c]))
    assert sorted(codes) == [200, 400], codes


def test_a_rotated_key_is_in_every_jwks_before_it_signs(cluster):
    a, b, c = cluster.nodes
    t = sign_in(cluster, a, "rotator@example.org")
    old_kid = kid_of(t["access_token"])
    r = a.client.post("/v1/admin/keys/rotate", headers=adm())
    assert r.status == 200, r
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    # Right after the rotation even the rotating node still signs with the
    # old key: the new one is published first.
    status, t = refresh(a, t["refresh_token"])
    assert status == 200 and kid_of(t["access_token"]) == old_kid
    signed_new = False
    deadline = time.monotonic() + KEY_RELOAD + 10
    while not signed_new:
        assert time.monotonic() < deadline, "the new key never signed"
        published = [new_kid in {k["kid"] for k in
                                 n.client.get("/.well-known/jwks.json").json()["keys"]}
                     for n in (a, b, c)]
        for n in (a, b, c):
            status, t = refresh(n, t["refresh_token"])
            assert status == 200, t
            if kid_of(t["access_token"]) == new_kid:
                # A token of the new key: every JWKS had it already.
                assert all(published), published
                signed_new = True
        time.sleep(0.05)
    for n in (a, b, c):
        assert me_status(n, t) == 200


def test_an_ip_rule_reaches_every_node_within_the_refresh_interval(cluster):
    a, b, c = cluster.nodes
    r = a.client.post("/v1/admin/ip-filters", headers=adm(),
                      json={"cidr": "127.0.0.1/32", "action": "deny",
                            "reason": "multi-node test", "force": True})
    assert r.status == 201, r
    try:
        for n in (b, c):
            until(lambda n=n: n.client.get("/v1/me").status == 403,
                  IP_REFRESH + 2, "ip rule on another node")
    finally:
        # The rule shuts the test out too: removed in the database, and
        # every node lets it in again after its next refresh.
        cluster.psql("DELETE FROM ip_filters")
    for n in (a, b, c):
        until(lambda n=n: n.client.get("/v1/me").status == 401,
              IP_REFRESH + 2, "ip rule removed")
