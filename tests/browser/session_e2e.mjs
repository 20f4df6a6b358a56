// The browser session cookie on the hosted page (issue 16) in a real
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
// with a CDP virtual authenticator:
//   1. /login?return_to=... : email sign-in by the emailed link (read from
//      the outbox) opened in a second tab; the confirmation page leads to
//      /login, which takes the cookie; the first tab notices the cookie and
//      continues to return_to;
//   2. the cookie is __Host-, HttpOnly, Secure, SameSite=Lax, Path=/, and
//      no tab's sessionStorage holds a token; a reload stays signed in;
//   3. the page's REST calls work (sessions listed, a passkey added) with
//      access tokens from POST /v1/browser/token, in memory only;
//   4. a cross-site form post to /v1/browser/logout (from another origin)
//      is refused and signs nobody out; return_to to another site is ignored;
//   5. sign out clears the cookie; a passkey sign-in (virtual authenticator)
//      on /login?return_to=... sets it again and continues to return_to;
//   6. prompt=login shows the sign-in form despite the live session.
// Usage: node session_e2e.mjs --url http://localhost:PORT --outbox DIR --artifacts DIR
// Exits 0 on success, 1 with a message on the first failed step.
import { parseArgs } from "node:util";

import { addPlatformAuthenticator, check, disablePasskeyAutofill, launchChromium, stepLog,
         watch as watchPage } from "./lib/browser.mjs";
import { outboxNames as namesIn, waitForLink as linkIn } from "./lib/outbox.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    outbox: { type: "string" },
    artifacts: { type: "string", default: "tests/artifacts/browser-session" },
    email: { type: "string", default: "cookie-e2e@example.org" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
if (!args.url || !args.outbox) {
  console.error("usage: node session_e2e.mjs --url URL --outbox DIR [--artifacts DIR]");
  process.exit(1);
}
const base = args.url.replace(/\/$/, "");
const timeout = Number(args.timeout);
const log = stepLog(args.artifacts);
const note = log.note;

const outboxNames = () => namesIn(args.outbox);
const waitForLink = (to, seen) => linkIn(args.outbox, to, seen, timeout);

const { context, page, close } = await launchChromium({ executablePath: args.chromium, timeout });
const problems = [];

function watch(p, label) {
  watchPage(p, { note, problems, label });
}

watch(page, "tab1");

async function shot(p, name) {
  await log.shot(p, name);
}

async function sessionCookie() {
  const all = await context.cookies(base);
  return all.find((c) => c.name === "__Host-pa_session");
}

/// No token of any kind in this tab's sessionStorage (values that look like
/// a JWT, or a token response's fields).
async function checkNoStoredToken(p, when) {
  const stored = await p.evaluate(() => {
    const out = {};
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      out[k] = sessionStorage.getItem(k);
    }
    return out;
  });
  const text = JSON.stringify(stored);
  check(!/access_token|refresh_token|eyJ[A-Za-z0-9_-]+\./.test(text) && !("pa.tokens" in stored),
        `sessionStorage holds a token ${when}: ${text}`);
  const cookie = await sessionCookie();
  check(!cookie || !text.includes(cookie.value.split(".")[1]),
        `sessionStorage holds the cookie secret ${when}`);
  const js = await p.evaluate(() => document.cookie);
  check(!js.includes("pa_session"), `the session cookie is readable by scripts ${when}`);
  note(`no token in sessionStorage ${when} (${Object.keys(stored).length} keys)`);
}

/// What the page at `p` currently shows as JSON (a navigation to a JSON route).
async function pageJSON(p) {
  return JSON.parse(await p.evaluate(() => document.body.innerText));
}

const returnTo = "/v1/browser/session?from=e2e";

let exitCode = 0;
try {
  const authenticator = await addPlatformAuthenticator(context, page);
  note(`virtual authenticator ${authenticator.authenticatorId}`);
  // No autofill in these steps: the passkey is used through the button.
  await disablePasskeyAutofill(context);

  // 1. Email link sign-in, the link opened in a second tab.
  let res = await page.goto(`${base}/login?return_to=${encodeURIComponent(returnTo)}`);
  check(res.status() === 200, `GET /login answered ${res.status()}`);
  check((await page.getAttribute("#app", "data-return-to")) === returnTo,
        "the page did not get return_to");
  check(!(await sessionCookie()), "a session cookie exists before any sign-in");
  const seen = outboxNames();
  await page.fill("#email", args.email);
  await page.click("#email-submit");
  await page.locator("#code-step").waitFor({ state: "visible" });
  await shot(page, "link-requested");
  const link = await waitForLink(args.email, seen);
  note("read the link from the outbox");
  const tab2 = await context.newPage();
  watch(tab2, "tab2");
  res = await tab2.goto(link);
  check(res.status() === 200, `GET link answered ${res.status()}`);
  await shot(tab2, "confirm-page");
  await Promise.all([tab2.waitForURL(/\/login/), tab2.click("#confirm")]);
  await tab2.locator("#account").waitFor({ state: "visible" });
  await tab2.locator("#who", { hasText: args.email }).waitFor();
  check(!tab2.url().includes("code="), `the exchange code stayed in the URL: ${tab2.url()}`);
  await tab2.locator("#sessions li").first().waitFor();
  await shot(tab2, "signed-in-by-link");

  // 2. The cookie's attributes; nothing in storage.
  const cookie = await sessionCookie();
  check(cookie, "no __Host-pa_session cookie after the link sign-in");
  check(cookie.httpOnly, "the cookie is not HttpOnly");
  check(cookie.secure, "the cookie is not Secure");
  check(cookie.sameSite === "Lax", `the cookie is SameSite=${cookie.sameSite}`);
  check(cookie.path === "/", `the cookie's path is ${cookie.path}`);
  check(cookie.domain === "localhost", `the cookie's domain is ${cookie.domain}`);
  check(cookie.expires > Date.now() / 1000 + 86400, "the cookie is not persistent");
  note(`cookie ok: ${JSON.stringify({ ...cookie, value: "<secret>" })}`);
  await checkNoStoredToken(tab2, "after the link sign-in");

  //    The first tab polls, sees the cookie, and continues to return_to.
  await page.waitForURL((u) => u.pathname + u.search === returnTo);
  let doc = await pageJSON(page);
  check(doc.signed_in === true && doc.user.email === args.email,
        `return_to shows ${JSON.stringify(doc)}`);
  check(JSON.stringify(doc.session.amr) === '["magic_link"]', `amr ${JSON.stringify(doc.session.amr)}`);
  await checkNoStoredToken(page, "in the tab that followed return_to");
  await shot(page, "return-to-followed");
  note("the first tab continued to return_to with the cookie");

  //    A reload asks the cookie again.
  await tab2.reload();
  await tab2.locator("#account").waitFor({ state: "visible" });
  await tab2.locator("#sessions li").first().waitFor();
  await checkNoStoredToken(tab2, "after a reload");

  // 3. REST calls through in-memory access tokens: add a passkey (in the
  //    first tab: the virtual authenticator belongs to its CDP session).
  await tab2.close();
  await page.goto(`${base}/login`);
  await page.locator("#account").waitFor({ state: "visible" });
  await page.fill("#passkey-name", "Cookie laptop");
  await page.click("#add-passkey");
  await page.locator("#passkeys li", { hasText: "Cookie laptop" }).waitFor();
  await checkNoStoredToken(page, "after adding a passkey");
  await shot(page, "passkey-added");

  // 4. A cross-site form post to the logout route is refused.
  await context.route("http://evil.test/**", (route) =>
    route.fulfill({
      status: 200,
      contentType: "text/html",
      body: `<!doctype html><form id="f" method="post" action="${base}/v1/browser/logout">` +
            `<input name="csrf_token" value="guess"></form>` +
            `<script>document.getElementById("f").submit()</script>`,
    }));
  const evil = await context.newPage();
  await Promise.all([evil.waitForURL(`${base}/v1/browser/logout`), evil.goto("http://evil.test/attack")]);
  const refused = await evil.getAttribute("#result", "data-error");
  check(refused === "cross_site_request", `the cross-site logout was not refused: ${refused}`);
  await shot(evil, "cross-site-logout-refused");
  await evil.close();
  check(await sessionCookie(), "the cross-site post removed the cookie");
  res = await page.goto(`${base}/v1/browser/session`);
  check((await pageJSON(page)).signed_in === true, "the cross-site post signed the browser out");
  note("a cross-site logout form was refused and changed nothing");

  //    return_to to another site is ignored: the page stays on /login.
  await page.goto(`${base}/login?return_to=${encodeURIComponent("https://evil.test/x")}`);
  await page.locator("#account").waitFor({ state: "visible" });
  check(new URL(page.url()).host === new URL(base).host, `left for ${page.url()}`);
  check((await page.getAttribute("#app", "data-return-to")) === "", "an absolute return_to reached the page");
  note("an absolute return_to was ignored");

  // 5. Sign out, then sign in with the passkey on /login?return_to=...
  const loggedOut = page.waitForResponse((r) => r.url().endsWith("/v1/browser/logout"));
  await page.click("#signout");
  check((await loggedOut).status() === 204, "sign-out failed");
  await page.locator("#signin").waitFor({ state: "visible" });
  check(!(await sessionCookie()), "the cookie survived the sign-out");
  await shot(page, "signed-out");
  await page.goto(`${base}/login?return_to=${encodeURIComponent(returnTo)}`);
  await page.locator("#signin").waitFor({ state: "visible" });
  await Promise.all([page.waitForURL((u) => u.pathname + u.search === returnTo),
                     page.click("#passkey-signin")]);
  doc = await pageJSON(page);
  check(doc.signed_in === true && JSON.stringify(doc.session.amr) === '["webauthn"]',
        `after the passkey sign-in: ${JSON.stringify(doc)}`);
  check(await sessionCookie(), "no cookie after the passkey sign-in");
  await checkNoStoredToken(page, "after the passkey sign-in");
  await shot(page, "signed-in-with-passkey");
  note("passkey sign-in set the cookie and continued to return_to");

  // 6. prompt=login asks again despite the live session; without it the
  //    account shows at once.
  await page.goto(`${base}/login?prompt=login`);
  await page.locator("#signin").waitFor({ state: "visible" });
  check(await page.locator("#account").isHidden(), "prompt=login showed the account");
  await shot(page, "prompt-login");
  await page.goto(`${base}/login`);
  await page.locator("#account").waitFor({ state: "visible" });

  const credentials = await authenticator.credentials();
  check(credentials.length === 1 && credentials[0].signCount >= 1, "the passkey was not used");
  check(problems.length === 0, `browser problems:\n${problems.join("\n")}`);
  note("ok: link sign-in with return_to, cookie attributes, no stored tokens, cross-site refusal, passkey sign-in, prompt=login");
} catch (err) {
  exitCode = 1;
  console.error(`FAILED: ${err && err.stack ? err.stack : err}`);
  await log.failure(page);
} finally {
  log.save();
  await close();
}
process.exit(exitCode);
