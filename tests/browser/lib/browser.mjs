// What the browser tests share: Debian's Chromium driven by playwright-core
// (headless, a fresh profile, the flags the developers' guide names), a
// CDP virtual authenticator like a laptop's platform authenticator, page
// watchers that turn console CSP refusals and page errors into problems,
// and a step log with numbered screenshots in the artifacts folder.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update",
  "--disable-sync",
];

export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/// playwright-core, or exit 1 saying how to install it.
async function playwrightChromium() {
  try {
    return (await import("playwright-core")).chromium;
  } catch (err) {
    console.error("playwright-core is not installed: run scripts/npm-deps.sh " +
                  "(or `cd tests/browser && npm install --no-audit --no-fund`)");
    process.exit(1);
  }
}

/// A headless Chromium with a fresh --user-data-dir. Answers its context,
/// first page and close() (which also removes the profile).
export async function launchChromium({ executablePath = "/usr/bin/chromium", timeout = 15000 } = {}) {
  const chromium = await playwrightChromium();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pa-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  context.setDefaultTimeout(timeout);
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/// A CTAP2 platform authenticator with resident keys and user verification
/// on `page`'s CDP session (it answers WebAuthn calls of that tab only).
export async function addPlatformAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    async credentials() {
      return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    },
  };
}

/// Reports passkey autofill (conditional mediation) as unavailable in every
/// page of `context`, so the hosted page waits for its passkey button
/// instead of signing in by itself.
export async function disablePasskeyAutofill(context) {
  await context.addInitScript(() => {
    const pkc = window.PublicKeyCredential;
    if (pkc && typeof pkc.isConditionalMediationAvailable === "function")
      pkc.isConditionalMediationAvailable = () => Promise.resolve(false);
  });
}

/// A timestamped step log (printed, and saved to artifacts/log.txt by
/// save()) and numbered full-page screenshots.
export function stepLog(artifacts) {
  fs.mkdirSync(artifacts, { recursive: true });
  const lines = [];
  let step = 0;
  const note = (line) => {
    const entry = `[${new Date().toISOString()}] ${line}`;
    lines.push(entry);
    console.log(entry);
  };
  return {
    note,
    async shot(page, name) {
      step += 1;
      const file = path.join(artifacts, `${String(step).padStart(2, "0")}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      note(`screenshot ${file}`);
    },
    /// After a failure: a screenshot and the page's HTML, if the page lives.
    async failure(page) {
      try {
        await this.shot(page, "failure");
        fs.writeFileSync(path.join(artifacts, "failure.html"), await page.content());
      } catch (_) {
        // the page may be gone
      }
    },
    save() {
      fs.writeFileSync(path.join(artifacts, "log.txt"), lines.join("\n") + "\n");
    },
  };
}

/// Logs `page`'s console, errors and navigations (with `label`), and adds
/// CSP refusals and page errors to `problems` (a test ends checking it is
/// empty).
export function watch(page, { note, problems, label = "" }) {
  const prefix = label ? `${label} ` : "";
  page.on("console", (msg) => {
    const text = msg.text();
    if (note) note(`${prefix}console.${msg.type()}: ${text}`);
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
  page.on("pageerror", (err) => {
    if (note) note(`${prefix}pageerror: ${err.message}`);
    problems.push(`page error: ${err.message}`);
  });
  if (note)
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) note(`${prefix}navigated: ${frame.url()}`);
    });
}
