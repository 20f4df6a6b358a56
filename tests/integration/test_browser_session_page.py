"""The browser session cookie on the hosted page in a real headless Chromium
(tests/browser/session_e2e.mjs, issue 16): email-link sign-in from the real
outbox with /login?return_to=..., the __Host-pa_session cookie's attributes
as the browser stored them, no token in any tab's sessionStorage, a reload,
a passkey added through in-memory access tokens, a cross-site logout form
refused, an absolute return_to ignored, sign-out, a passkey sign-in (CDP
virtual authenticator) that follows return_to, and prompt=login.
Screenshots go to tests/artifacts/browser-session/ (gitignored)."""
import pathlib
import shutil
import subprocess

from test_browser_login import BROWSER_DIR, CHROMIUM, free_port

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "artifacts" / "browser-session"


def test_hosted_page_holds_its_session_in_the_cookie(start_server):
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
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    proc = subprocess.run(
        [node, str(BROWSER_DIR / "session_e2e.mjs"), "--url", origin,
         "--outbox", str(server.workdir / "outbox"), "--artifacts", str(ARTIFACTS),
         "--chromium", CHROMIUM],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, (
        f"session_e2e.mjs exited {proc.returncode}\n--- stdout\n{proc.stdout}"
        f"\n--- stderr\n{proc.stderr}\n--- service log (last lines)\n"
        + "\n".join(server.lines[-30:]))
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    assert len(shots) >= 8, shots
    # The server saw the cookie sessions: one by the link, one by the passkey.
    created = [e for e in server.events("request")
               if e.get("browser_session") == "started"]
    assert len(created) == 2, created
