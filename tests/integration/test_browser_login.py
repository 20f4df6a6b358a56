"""The hosted sign-in page in a real headless Chromium (tests/browser/login_e2e.mjs):
email code, add a passkey (CDP virtual authenticator), sign out, passkey
sign-in without an email, GET /v1/session. Screenshots of every step go to
tests/artifacts/browser/ (gitignored).

WebAuthn needs a secure context, so the page is opened on http://localhost
(not 127.0.0.1) on a port picked here, and the service is configured for
exactly that origin.
"""
import pathlib
import shutil
import socket
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]
BROWSER_DIR = REPO / "tests" / "browser"
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sign_in_by_code_add_passkey_and_sign_in_with_it(start_server):
    # Nothing is skipped: a missing tool is a failure that says what to do.
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), (
        "tests/browser/node_modules is missing: run scripts/npm-deps.sh")
    node = shutil.which("node")
    assert node, "node is not installed (Debian package nodejs)"
    assert pathlib.Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (Debian package chromium)"

    port = free_port()
    origin = f"http://localhost:{port}"
    server = start_server(
        env={"PA_SERVER_PUBLIC_URL": origin,
             "PA_WEBAUTHN_RP_ID": "localhost",
             "PA_WEBAUTHN_ORIGINS": origin},
        args=["--set", f"server.port={port}"])
    assert server.port == port

    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    proc = subprocess.run(
        [node, str(BROWSER_DIR / "login_e2e.mjs"), "--url", origin,
         "--outbox", str(server.workdir / "outbox"), "--artifacts", str(ARTIFACTS),
         "--chromium", CHROMIUM],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, (
        f"login_e2e.mjs exited {proc.returncode}\n--- stdout\n{proc.stdout}"
        f"\n--- stderr\n{proc.stderr}\n--- service log (last lines)\n"
        + "\n".join(server.lines[-30:]))
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    assert len(shots) >= 6, shots
