// End-to-end test of the hosted sign-in page in a real headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core) with a Chrome
// DevTools Protocol virtual authenticator:
//   sign in by emailed code (read from the outbox) -> add a passkey ->
//   sign out -> sign in with the passkey without typing an email ->
//   GET /v1/session answers 200 with amr ["webauthn"] (with an access token
//   the page gets from its session cookie; no token is kept in storage).
// Usage: node login_e2e.mjs --url http://localhost:PORT --outbox DIR --artifacts DIR
// Exits 0 on success, 1 with a message on the first failed step.
import { parseArgs } from "node:util";

import { addPlatformAuthenticator, check, launchChromium, stepLog, watch } from "./lib/browser.mjs";
import { outboxNames, waitForCode } from "./lib/outbox.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    outbox: { type: "string" },
    artifacts: { type: "string", default: "tests/artifacts/browser" },
    email: { type: "string", default: "e2e@example.org" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
if (!args.url || !args.outbox) {
  console.error("usage: node login_e2e.mjs --url URL --outbox DIR [--artifacts DIR]");
  process.exit(1);
}
const base = args.url.replace(/\/$/, "");
const timeout = Number(args.timeout);
const log = stepLog(args.artifacts);
const note = log.note;

const { page, close } = await launchChromium({ executablePath: args.chromium, timeout });
const problems = [];
watch(page, { note, problems });

async function shot(name) {
  await log.shot(page, name);
}

async function visible(selector) {
  await page.locator(selector).waitFor({ state: "visible" });
}

/// The page's browser session (the __Host-pa_session cookie, issue 16) is a
/// live session that says "webauthn", and no token is kept in storage.
async function checkSession(how) {
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  check(!/access_token|refresh_token|eyJ/.test(stored), `sessionStorage holds a token: ${stored}`);
  // What the page does for its REST calls: the CSRF token from the session,
  // then a short-lived access token from the cookie.
  const tokens = await page.evaluate(async () => {
    const s = await (await fetch("/v1/browser/session")).json();
    if (!s.signed_in) return null;
    const r = await fetch("/v1/browser/token", { method: "POST",
                                                 headers: { "X-CSRF-Token": s.csrf_token } });
    return r.status === 200 ? r.json() : null;
  });
  check(tokens && tokens.access_token, `no browser session after the ${how} sign-in`);
  const session = await fetch(`${base}/v1/session`, {
    headers: { Authorization: `Bearer ${tokens.access_token}` },
  });
  const body = await session.json();
  check(session.status === 200, `GET /v1/session answered ${session.status} (${how})`);
  check(JSON.stringify(body.session.amr) === '["webauthn"]',
        `amr is ${JSON.stringify(body.session.amr)} (${how})`);
  check(body.user.email === args.email, `signed in as ${body.user.email} (${how})`);
  check(!page.url().includes(tokens.access_token) && !page.url().includes("token"),
        `a token reached the URL: ${page.url()}`);
  note(`session ok after the ${how} sign-in`);
}

let exitCode = 0;
try {
  // A platform authenticator with user verification, like a phone or laptop.
  const authenticator = await addPlatformAuthenticator(page.context(), page);
  note(`virtual authenticator ${authenticator.authenticatorId}`);

  // Headless Chromium has no autofill UI: the virtual authenticator answers a
  // conditional (autofill) request by itself. The button path is tested with
  // autofill reported unavailable (as in browsers without it), then autofill.
  await page.context().addInitScript(() => {
    const pkc = window.PublicKeyCredential;
    if (!pkc || typeof pkc.isConditionalMediationAvailable !== "function") return;
    const real = pkc.isConditionalMediationAvailable.bind(pkc);
    pkc.isConditionalMediationAvailable = () =>
      sessionStorage.getItem("e2e.autofill") === "off" ? Promise.resolve(false) : real();
  });

  // 1. The page loads with the security headers and CSP on.
  const res = await page.goto(`${base}/login`);
  check(res.status() === 200, `GET /login answered ${res.status()}`);
  const csp = res.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'"), `unexpected CSP: ${csp}`);
  check((await page.getAttribute("#email", "autocomplete")) === "username webauthn",
        "the email field lacks autocomplete=\"username webauthn\"");
  await visible("#email-form");
  await shot("login-page");

  // 2. Email sign-in with the code from the outbox.
  const seen = outboxNames(args.outbox);
  await page.fill("#email", args.email);
  await page.click("#email-submit");
  await visible("#code-step");
  await shot("code-requested");
  const code = await waitForCode(args.outbox, args.email, seen, timeout);
  note("read the code from the outbox");
  await page.fill("#code", code);
  await shot("code-entered");
  await page.click("#code-submit");
  await visible("#account");
  await page.locator("#who", { hasText: args.email }).waitFor();
  await page.locator("#sessions li").first().waitFor();
  await shot("signed-in-by-code");

  // 3. Add a passkey (the virtual authenticator answers create()).
  await page.fill("#passkey-name", "E2E laptop");
  await page.click("#add-passkey");
  await page.locator("#passkeys li", { hasText: "E2E laptop" }).waitFor();
  const credentials = await authenticator.credentials();
  check(credentials.length === 1, `authenticator holds ${credentials.length} credentials`);
  check(credentials[0].isResidentCredential, "the passkey is not discoverable");
  await shot("passkey-added");

  // 4. Sign out (autofill off, so the page waits for a click).
  await page.evaluate(() => sessionStorage.setItem("e2e.autofill", "off"));
  await page.click("#signout");
  await visible("#signin");
  const left = await page.evaluate(() => sessionStorage.getItem("pa.tokens"));
  check(left === null, "tokens stayed in sessionStorage after sign-out");
  await shot("signed-out");

  // 5. Sign in with the passkey button, no email typed (usernameless).
  check((await page.inputValue("#email")) === "", "the email field is not empty");
  await page.click("#passkey-signin");
  await visible("#account");
  await page.locator("#who", { hasText: args.email }).waitFor();
  await shot("signed-in-with-passkey");
  await checkSession("passkey button");

  // 6. Sign out with autofill available: the conditional request started on
  //    the signed-out page signs in without a click or an email.
  await page.evaluate(() => sessionStorage.removeItem("e2e.autofill"));
  const loggedOut = page.waitForResponse((r) => r.url().endsWith("/v1/browser/logout"));
  const autofilled = page.waitForResponse((r) => r.url().endsWith("/v1/webauthn/login/verify"));
  await page.click("#signout");
  check((await loggedOut).status() === 204, "sign-out failed");
  check((await autofilled).status() === 200, "the autofill sign-in was refused");
  await visible("#account");
  await page.locator("#who", { hasText: args.email }).waitFor();
  await shot("signed-in-with-passkey-autofill");
  await checkSession("passkey autofill");

  const after = await authenticator.credentials();
  check(after[0].signCount >= 2, "the authenticator was not used twice");
  check(problems.length === 0, `browser problems:\n${problems.join("\n")}`);
  note("ok: code sign-in, passkey added, sign-out, passkey sign-in (button and autofill), sessions 200");
} catch (err) {
  exitCode = 1;
  console.error(`FAILED: ${err && err.stack ? err.stack : err}`);
  await log.failure(page);
} finally {
  log.save();
  await close();
}
process.exit(exitCode);
