"""The emailed link's confirmation page in a real headless Chromium
(tests/browser/confirm_e2e.mjs): the default "Sign in" button signs in the
browser that opened the link (through /login and the exchange code), with
the browser's own headers passing the login-CSRF check; the hand-over with
the starting device's number lets that device collect its session.
Screenshots go to tests/artifacts/browser-confirm/ (gitignored)."""
import pathlib
import shutil
import subprocess

from pa_flows import mail_link_and_code, new_mail, outbox_files, start
from test_browser_login import BROWSER_DIR, CHROMIUM, free_port

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "artifacts" / "browser-confirm"


def test_confirm_page_signs_in_this_browser_and_hands_over_with_the_number(start_server):
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), (
        "tests/browser/node_modules is missing: run scripts/npm-deps.sh")
    node = shutil.which("node")
    assert node, "node is not installed (Debian package nodejs)"
    port = free_port()
    origin = f"http://localhost:{port}"
    server = start_server(env={"PA_SERVER_PUBLIC_URL": origin},
                          args=["--set", f"server.port={port}"])
    c = server.client
    links = []
    flows = []
    for _ in range(2):
        seen = {f.name for f in outbox_files(server)}
        flows.append(start(c, "browser@example.org"))
        link, _, _ = mail_link_and_code(new_mail(server, "browser@example.org", seen))
        assert link.startswith(origin + "/v1/auth/email/link?token="), link
        links.append(link)
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    proc = subprocess.run(
        [node, str(BROWSER_DIR / "confirm_e2e.mjs"), "--link1", links[0], "--link2", links[1],
         "--match", str(flows[1]["match_number"]), "--email", "browser@example.org",
         "--artifacts", str(ARTIFACTS), "--chromium", CHROMIUM],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, (
        f"confirm_e2e.mjs exited {proc.returncode}\n--- stdout\n{proc.stdout}"
        f"\n--- stderr\n{proc.stderr}\n--- service log (last lines)\n"
        + "\n".join(server.lines[-30:]))
    # The first flow went to the browser; the second to its starter.
    first = c.post("/v1/auth/email/exchange", json={
        "flow_id": flows[0]["flow_id"], "flow_secret": flows[0]["flow_secret"]})
    assert first.status == 400 and first.json()["error"]["code"] == "flow_expired"
    second = c.post("/v1/auth/email/exchange", json={
        "flow_id": flows[1]["flow_id"], "flow_secret": flows[1]["flow_secret"]})
    assert second.status == 200 and second.json()["user"]["email"] == "browser@example.org"
