"""The published CAF interface over real sockets: the service on port 0
with [caf] enabled, and the example client (examples/caf_client, built
against include/passwordless/auth_api.hpp only) in a second process."""
import json
import os
import pathlib
import queue
import subprocess
import threading
import time

import pytest

import db_access
from conftest import BINARY, metric, wait_until
from pa_flows import bearer, mail_link_and_code, new_mail, outbox_files, sign_in

BUILD = pathlib.Path(BINARY).resolve().parent
CLIENT = os.environ.get("PA_CAF_CLIENT") or str(BUILD / "examples" / "caf_client" / "caf_client")
CLIENT_V999 = str(pathlib.Path(CLIENT).parent / "caf_client_v999")


def caf_port(server):
    return server.wait_event("caf-listening")["port"]


def run_client(server, *args, tls=None, binary=CLIENT, timeout=20):
    """Runs the client once; returns (rc, [json lines], stderr)."""
    cmd = [binary, "--port", str(caf_port(server)), "--timeout", "5"]
    if tls:
        cmd += ["--cert", str(tls[0]), "--key", str(tls[1]), "--ca", str(tls[2])]
    cmd += [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return p.returncode, lines, p.stderr


# Plaintext CAF needs the loudly named opt-in (and a loopback caf.host, the
# default); most tests of the calls themselves use it, the TLS section below
# covers authentication.
PLAINTEXT = {"PA_CAF_ENABLED": "true", "PA_CAF_PORT": "0",
             "PA_CAF_INSECURE_PLAINTEXT": "true"}


@pytest.fixture
def caf_server(start_server):
    return start_server(env=PLAINTEXT)


def tamper(token):
    head, payload, sig = token.split(".")
    # Flip one character in the middle of the signature.
    i = len(sig) // 2
    c = "A" if sig[i] != "A" else "B"
    return ".".join([head, payload, sig[:i] + c + sig[i + 1:]])


def test_off_by_default(server):
    assert server.events("caf-listening") == []


def test_verify_valid_tampered_and_revoked_token(caf_server):
    t = sign_in(caf_server, "carol@example.com")
    rc, out, err = run_client(caf_server, "verify", t["access_token"])
    assert rc == 0, err
    claims = out[-1]
    assert claims["sub"] == t["user"]["id"]
    assert claims["sid"] == t["session_id"]
    assert claims["amr"] == ["otp"]
    assert claims["exp"] > claims["iat"] > 0
    assert claims["user"]["email"] == "carol@example.com"

    rc, out, _ = run_client(caf_server, "verify", tamper(t["access_token"]))
    assert (rc, out[-1]) == (1, {"error": "unauthorized"})
    rc, out, _ = run_client(caf_server, "verify", "not-a-token")
    assert (rc, out[-1]) == (1, {"error": "unauthorized"})

    rc, out, _ = run_client(caf_server, "session", t["session_id"])
    assert rc == 0 and out[-1]["live"] is True
    assert out[-1]["user_id"] == t["user"]["id"]

    # Revoking over CAF ends the session for HTTP at once.
    assert caf_server.client.get("/v1/session", headers=bearer(t)).status == 200
    rc, out, _ = run_client(caf_server, "revoke", "--session", t["session_id"])
    assert (rc, out[-1]) == (0, {"revoked": 1})
    r = caf_server.client.get("/v1/session", headers=bearer(t))
    assert r.status == 401 and r.json()["error"]["code"] == "unauthorized"

    rc, out, _ = run_client(caf_server, "verify", t["access_token"])
    assert (rc, out[-1]) == (1, {"error": "unauthorized"})
    rc, out, _ = run_client(caf_server, "session", t["session_id"])
    assert rc == 0 and out[-1]["live"] is False

    # The calls are in the audit trail, attributed to the client's node.
    caf_server.wait_event("caf-call", pred=lambda e: e["operation"] == "revoke")
    deadline = time.monotonic() + 5
    while True:
        rows = db_access.connect(caf_server.workdir / "auth.db").execute(
            "SELECT actor, success, metadata FROM audit_logs "
            "WHERE event_type = 'caf.revoke'").fetchall()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows and rows[0][0].startswith("caf:node:") and rows[0][1] == 1
    assert json.loads(rows[0][2])["revoked"] == 1


def test_revoke_all_sessions_of_a_user(caf_server):
    a = sign_in(caf_server, "dave@example.com")
    b = sign_in(caf_server, "dave@example.com")
    rc, out, _ = run_client(caf_server, "revoke", "--user", a["user"]["id"])
    assert (rc, out[-1]) == (0, {"revoked": 2})
    for t in (a, b):
        assert caf_server.client.get("/v1/session", headers=bearer(t)).status == 401
    rc, out, _ = run_client(caf_server, "revoke")
    assert (rc, out[-1]) == (1, {"error": "validation_failed"})


def test_user_lookup_and_email_start(caf_server):
    t = sign_in(caf_server, "erin@example.com")
    rc, out, _ = run_client(caf_server, "user", "--email", " Erin@Example.com ")
    assert rc == 0 and out[-1]["id"] == t["user"]["id"]
    assert out[-1]["disabled"] is False
    rc, out, _ = run_client(caf_server, "user", "--id", t["user"]["id"])
    assert rc == 0 and out[-1]["email"] == "erin@example.com"
    rc, out, _ = run_client(caf_server, "user", "--id", "no-such-user")
    assert (rc, out[-1]) == (1, {"error": "not_found"})
    rc, out, _ = run_client(caf_server, "user", "--email", "not an address")
    assert (rc, out[-1]) == (1, {"error": "validation_failed"})

    # Starting a sign-in over CAF sends the same mail; the code completes
    # the flow over HTTP.
    seen = {f.name for f in outbox_files(caf_server)}
    rc, out, _ = run_client(caf_server, "email-start", "frank@example.com",
                            "--ip", "203.0.113.9", "--user-agent", "Kiosk 1")
    assert rc == 0 and out[-1]["flow_id"] and out[-1]["expires_in"] == 600
    msg = new_mail(caf_server, "frank@example.com", seen)
    assert "203.0.113.9" in msg.get_body(preferencelist=("plain",)).get_content()
    _, _, code = mail_link_and_code(msg)
    r = caf_server.client.post("/v1/auth/email/verify-code",
                               json={"flow_id": out[-1]["flow_id"], "code": code})
    assert r.status == 200, r

    rc, out, _ = run_client(caf_server, "email-start", "nope")
    assert rc == 1 and out[-1]["error"] == "validation_failed"
    assert any(d.startswith("email:") for d in out[-1]["details"])


def test_subscriber_receives_http_sign_in_events(caf_server):
    cmd = [CLIENT, "--port", str(caf_port(caf_server)), "subscribe",
           "--seconds", "30"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(l)) for l in p.stdout],
                     daemon=True).start()
    try:
        got = []
        while True:  # the service's own caf.subscribe event may come first
            ev = lines.get(timeout=10)
            if ev == {"subscribed": True}:
                break
            got.append(ev)
        t = sign_in(caf_server, "grace@example.com")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                ev = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            got.append(ev)
            if ev.get("event") == "session.created" and ev.get("user_id") == t["user"]["id"]:
                break
        else:
            raise AssertionError(f"no session.created event; got {got}")
        types = [e.get("event") for e in got]
        assert "email.sign_in_requested" in types
        assert "caf.subscribe" in types
        assert ev["metadata"]["session_id"] == t["session_id"]
        assert all(e.get("dropped_before") == 0 for e in got)
    finally:
        p.kill()
        p.wait()
    # A subscriber that went away does not disturb the service.
    sign_in(caf_server, "grace@example.com")
    assert caf_server.proc.poll() is None


def test_version_mismatch_is_a_clear_error_not_a_hang(caf_server):
    start = time.monotonic()
    rc, _, err = run_client(caf_server, "hello", binary=CLIENT_V999)
    assert rc == 3 and "interface mismatch" in err and "v999" in err
    rc, out, err = run_client(caf_server, "--claim-version", "2", "hello")
    assert rc == 3 and "version mismatch" in err
    assert out[-1] == {"error": "version_mismatch"}
    assert time.monotonic() - start < 10
    rc, out, _ = run_client(caf_server, "hello")
    assert rc == 0 and out[-1]["version"] == 1
    assert out[-1]["peer"].startswith("node:")


def test_calls_are_rate_limited_per_node(start_server):
    s = start_server(env={**PLAINTEXT, "PA_CAF_RATE_LIMIT": "3/60"})
    # hello + 4 verifies from one node: 3 pass the limit, then refused.
    rc, out, _ = run_client(s, "verify", "x", "--repeat", "4")
    assert [o["error"] for o in out] == ["unauthorized", "unauthorized",
                                         "rate_limited", "rate_limited"]
    assert rc == 1
    s.wait_event("caf-call", pred=lambda e: e["outcome"] == "rate_limited")


# -- mutual TLS ------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN={name}", cwd=d)


def make_cert(d, name, ca, san=None, eku=None):
    ext = []
    if san:
        ext += ["-addext", f"subjectAltName={san}"]
    if eku:
        ext += ["-addext", f"extendedKeyUsage={eku}"]
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
            *ext, cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            *(["-copy_extensions", "copy"] if ext else []), cwd=d)
    return (d / f"{name}.pem", d / f"{name}.key")


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    make_ca(d, "ca")
    make_ca(d, "rogue-ca")
    return {
        "dir": d,
        "ca": d / "ca.pem",
        "server": make_cert(d, "server", "ca"),
        "client": make_cert(d, "client", "ca"),
        "rogue": make_cert(d, "rogue-client", "rogue-ca"),
        "other": make_cert(d, "other-client", "ca"),
        "svc": make_cert(d, "billing", "ca", san="URI:spiffe://corp/billing"),
        "server_only": make_cert(d, "server-only", "ca", eku="serverAuth"),
    }


def tls_env(pki, allowed="client"):
    return {"PA_CAF_ENABLED": "true", "PA_CAF_PORT": "0",
            "PA_CAF_CERT": str(pki["server"][0]), "PA_CAF_KEY": str(pki["server"][1]),
            "PA_CAF_CA": str(pki["ca"]), "PA_CAF_ALLOWED_CLIENTS": allowed}


def test_mutual_tls(start_server, pki):
    s = start_server(env=tls_env(pki))
    assert s.wait_event("caf-listening")["tls"] is True
    t = sign_in(s, "heidi@example.com")
    good = (*pki["client"], pki["ca"])
    rc, out, err = run_client(s, "verify", t["access_token"], tls=good)
    assert rc == 0, err
    assert out[-1]["sub"] == t["user"]["id"]

    start = time.monotonic()
    # No client certificate (and no TLS at all): refused.
    rc, out, err = run_client(s, "verify", t["access_token"])
    assert rc == 3 and out == [], err
    # A certificate from another CA: refused.
    rogue = (*pki["rogue"], pki["ca"])
    rc, out, err = run_client(s, "verify", t["access_token"], tls=rogue)
    assert rc == 3 and out == [], err
    assert time.monotonic() - start < 30
    # The service is unharmed.
    rc, out, _ = run_client(s, "hello", tls=good)
    assert rc == 0 and s.proc.poll() is None


@pytest.mark.parametrize("key,bad", [
    ("cert", lambda p, tmp: tmp / "missing.pem"),
    ("key", lambda p, tmp: p["client"][1]),        # does not match the cert
    ("ca", lambda p, tmp: tmp / "missing-ca.pem"),
])
def test_bad_tls_files_stop_the_start(tmp_path, pki, key, bad):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update(tls_env(pki))
    env.update({"PA_DATABASE_PATH": str(tmp_path / "auth.db"),
                "PA_AUTH_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
                "PA_MAIL_OUTBOX_DIR": str(tmp_path / "outbox")})
    env["PA_CAF_" + key.upper()] = str(bad(pki, tmp_path))
    p = subprocess.run([BINARY, "--set", "server.port=0"], env=env, capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 2
    assert f"caf.{key}:" in p.stdout + p.stderr


def test_tls_needs_all_three_files(tmp_path, pki):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update(tls_env(pki))
    del env["PA_CAF_CA"]
    env["PA_DATABASE_PATH"] = str(tmp_path / "auth.db")
    p = subprocess.run([BINARY, "--set", "server.port=0"], env=env, capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 2 and "caf.ca" in p.stderr


def test_caf_built_in_actors_are_not_reachable(caf_server):
    """CAF 0.17 answers remote lookups through its "ConfigServ" actor (which
    also reads and writes the actor system's settings) and remote spawns
    through "SpawnServ"; a remote node must reach neither, only the
    published interface."""
    probe = str(BUILD / "caf_probe")
    port = caf_port(caf_server)
    p = subprocess.run([probe, str(port)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["connected"] is True
    assert out["config_serv"] != "found", out
    assert out["spawn_serv"] in ("no answer", "answered: system_error(request_receiver_down)"), out
    # The published interface still answers on the same connection port.
    rc, lines, _ = run_client(caf_server, "hello")
    assert rc == 0 and lines[-1]["version"] == 1


# -- the gate in front of the CAF port (security review, High 1) ------------------

def start_status(tmp_path, env_extra):
    """Runs the binary to its first exit with the CAF settings in
    `env_extra`; returns (rc, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update({"PA_DATABASE_PATH": str(tmp_path / "auth.db"),
                "PA_AUTH_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
                "PA_MAIL_OUTBOX_DIR": str(tmp_path / "outbox")})
    env.update(env_extra)
    p = subprocess.run([BINARY, "--set", "server.port=0"], env=env, capture_output=True,
                       text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


def test_plaintext_needs_the_explicit_opt_in(tmp_path):
    rc, out = start_status(tmp_path, {"PA_CAF_ENABLED": "true", "PA_CAF_PORT": "0"})
    assert rc == 2 and "caf.insecure_plaintext" in out, out


def test_plaintext_is_refused_off_loopback(tmp_path):
    rc, out = start_status(tmp_path, {**PLAINTEXT, "PA_CAF_HOST": "0.0.0.0"})
    assert rc == 2 and "caf.host" in out, out


def test_tls_needs_an_allow_list(tmp_path, pki):
    env = tls_env(pki)
    del env["PA_CAF_ALLOWED_CLIENTS"]
    rc, out = start_status(tmp_path, env)
    assert rc == 2 and "caf.allowed_clients" in out, out


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def basp_header(operation, payload_len):
    """A BASP 0.17 header: operation, 2 padding bytes, flags, payload
    length (big endian), operation data and two actor ids."""
    return (bytes([operation, 0, 0, 0]) + payload_len.to_bytes(4, "big")
            + bytes(24))


def closed_by_peer(sock, timeout=10):
    """True when the peer closes (EOF or reset) within `timeout`, reading
    and discarding whatever it sends first (CAF's server handshake)."""
    import socket as _socket
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (_socket.timeout, TimeoutError):
        return False
    except OSError:
        return True
    return False


def oversized_attack(connect, server, rounds=4):
    """Sends `rounds` connections' worth of 1 GiB claims and checks that each
    connection is closed and the service's memory did not follow."""
    before = rss_kib(server.proc.pid)
    for i in range(rounds):
        s = connect()
        # A "client handshake" header claiming 1 GiB, then one claiming a
        # byte over the limit (a huge frame after a real handshake is in
        # tests/auth/basp_guard_test.cpp).
        limit = int(server.env.get("PA_CAF_MAX_MESSAGE_BYTES", 1 << 20))
        s.sendall(basp_header(0x01, 1 << 30 if i % 2 == 0 else limit + 1))
        assert closed_by_peer(s), "the connection stayed open"
        s.close()
    after = rss_kib(server.proc.pid)
    # Unfixed, each claim made CAF allocate it (30 MB -> 1.08 GB RSS).
    assert after - before < 64 * 1024, (before, after)
    assert server.proc.poll() is None
    server.wait_event("caf-connection-refused",
                      pred=lambda e: e["reason"] == "message_too_large")
    wait_until(lambda: metric(server, "caf_connections_refused_total",
                              'reason="message_too_large"') >= rounds,
               what="the refusals in /metrics")


def test_an_oversized_message_closes_the_connection_without_allocating(caf_server):
    import socket
    port = caf_port(caf_server)
    oversized_attack(lambda: socket.create_connection(("127.0.0.1", port)), caf_server)
    # Real clients are unaffected.
    rc, out, _ = run_client(caf_server, "hello")
    assert rc == 0 and out[-1]["version"] == 1


def test_the_size_cap_holds_over_tls_for_an_authenticated_client(start_server, pki):
    import socket
    import ssl
    s = start_server(env={**tls_env(pki), "PA_CAF_MAX_MESSAGE_BYTES": "65536"})
    port = caf_port(s)
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki["ca"]))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(pki["client"][0]), str(pki["client"][1]))

    def connect():
        raw = socket.create_connection(("127.0.0.1", port))
        return ctx.wrap_socket(raw)
    oversized_attack(connect, s)
    rc, out, _ = run_client(s, "hello", tls=(*pki["client"], pki["ca"]))
    assert rc == 0


def audit_actors(server, event_type):
    rows = db_access.connect(server.workdir / "auth.db").execute(
        "SELECT actor FROM audit_logs WHERE event_type = ?", (event_type,)).fetchall()
    return [r[0] for r in rows]


def test_client_certificate_identity_is_the_caller_in_audit(start_server, pki):
    s = start_server(env=tls_env(pki, allowed="client,spiffe://corp/billing"))
    good = (*pki["client"], pki["ca"])
    rc, out, err = run_client(s, "hello", tls=good)
    assert rc == 0, err
    assert out[-1]["peer"] == "client:client"
    t = sign_in(s, "ivan@example.com")
    rc, out, _ = run_client(s, "revoke", "--session", t["session_id"], tls=good)
    assert (rc, out[-1]) == (0, {"revoked": 1})
    # A certificate named by its subjectAltName URI.
    rc, out, err = run_client(s, "hello", tls=(*pki["svc"], pki["ca"]))
    assert rc == 0 and out[-1]["peer"] == "client:spiffe://corp/billing", err
    wait_until(lambda: audit_actors(s, "caf.revoke"), what="caf.revoke audit row")
    assert audit_actors(s, "caf.revoke") == ["caf:client:client"]
    wait_until(lambda: "caf:client:spiffe://corp/billing" in audit_actors(s, "caf.hello"),
               what="caf.hello row of the SAN client")
    assert set(audit_actors(s, "caf.hello")) == {
        "caf:client:client", "caf:client:spiffe://corp/billing"}


def test_only_allowed_client_identities_get_in(start_server, pki):
    s = start_server(env=tls_env(pki))  # allowed: "client"
    rc, out, err = run_client(s, "hello", tls=(*pki["other"], pki["ca"]))
    assert rc == 3 and out == [], err
    s.wait_event("caf-connection-refused", pred=lambda e: e["reason"] == "not_allowed"
                 and e.get("detail") == "other-client")
    rc, out, _ = run_client(s, "hello", tls=(*pki["client"], pki["ca"]))
    assert rc == 0


def test_the_server_certificate_is_not_a_client_certificate(start_server, pki):
    s = start_server(env=tls_env(pki, allowed="*"))
    rc, out, err = run_client(s, "hello", tls=(*pki["server"], pki["ca"]))
    assert rc == 3 and out == [], err
    first = s.wait_event("caf-connection-refused",
                         pred=lambda e: e["reason"] == "server_certificate")
    # Nor one whose extended key usage is for servers only (OpenSSL's
    # client-purpose check already fails it in the handshake).
    rc, out, err = run_client(s, "hello", tls=(*pki["server_only"], pki["ca"]))
    assert rc == 3 and out == [], err
    s.wait_event("caf-connection-refused",
                 pred=lambda e: e["reason"] in ("tls_handshake", "not_a_client_certificate")
                 and e["ts"] > first["ts"])
    # "*" still admits any other client certificate of the CA.
    rc, out, _ = run_client(s, "hello", tls=(*pki["other"], pki["ca"]))
    assert rc == 0 and out[-1]["peer"] == "client:other-client"
