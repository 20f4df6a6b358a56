// A real relying party against our OpenID Provider (issue 16): the npm
// `openid-client` v6 (an OpenID Certified RP library) does discovery, the
// authorization URL with PKCE (S256), state and nonce, the code exchange
// with its own ID token validation, userinfo, refresh, revocation (RFC 7009)
// and the RP-initiated logout URL; a headless Chromium (Debian's chromium,
// playwright-core, a CDP virtual authenticator) is the user's browser that
// signs in through the hosted page. Four flows, each ending in logout:
//   1. confidential client (client_secret_basic), email link from the
//      outbox; a passkey is added on the account page before the logout;
//   2. public client (none + PKCE), passkey; a third-party client, so the
//      consent page is answered once;
//   3. confidential client, passkey;
//   4. public client, email link (the consent is remembered: no page).
// The callback lands on a small HTTP server of this script (the RP's
// redirect URIs, on 127.0.0.1). What each flow got (ID tokens, nonce,
// access token) is written to --out for the caller to check independently.
// Usage: node rp_e2e.mjs --url http://localhost:PORT --outbox DIR --clients FILE
//        --rp-port N --out FILE [--artifacts DIR]
// Exits 0 on success, 1 with a message on the first failed step.
import fs from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";

import {
  addPlatformAuthenticator, check, disablePasskeyAutofill, launchChromium, stepLog, watch,
} from "./lib/browser.mjs";
import { outboxNames, waitForLink } from "./lib/outbox.mjs";

let client;
try {
  client = await import("openid-client");
} catch (err) {
  console.error("openid-client is not installed: run scripts/npm-deps.sh");
  process.exit(1);
}

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    outbox: { type: "string" },
    clients: { type: "string" },
    "rp-port": { type: "string" },
    out: { type: "string" },
    artifacts: { type: "string", default: "tests/artifacts/browser-rp" },
    email: { type: "string", default: "rp-e2e@example.org" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
if (!args.url || !args.outbox || !args.clients || !args["rp-port"] || !args.out) {
  console.error("usage: node rp_e2e.mjs --url URL --outbox DIR --clients FILE --rp-port N --out FILE");
  process.exit(1);
}
const issuer = new URL(args.url);
const timeout = Number(args.timeout);
// {"confidential": {client_id, client_secret, redirect_uri},
//  "public": {client_id, redirect_uri}, "post_logout_redirect_uri": ...}
const registered = JSON.parse(fs.readFileSync(args.clients, "utf8"));
const log = stepLog(args.artifacts);
const note = log.note;

// -- the relying party's own server: where the browser comes back ------------

const rpHits = [];
const rp = http.createServer((req, res) => {
  rpHits.push(req.url);
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><title>RP</title><p id="rp">${req.url.split("?")[0]}</p>`);
});
await new Promise((resolve) => rp.listen(Number(args["rp-port"]), "127.0.0.1", resolve));

// -- the browser ---------------------------------------------------------------

const { context, page, close } = await launchChromium({ executablePath: args.chromium, timeout });
const problems = [];
watch(page, { note, problems, label: "tab1" });

async function sessionCookie() {
  return (await context.cookies(issuer.origin)).find((c) => c.name === "__Host-pa_session");
}

/// The RP's configuration from discovery. openid-client v6 refuses an
/// http:// issuer (every request must be https) unless the configuration
/// runs its allowInsecureRequests: the test service is on plain loopback
/// HTTP (http://localhost, where browsers allow WebAuthn and Secure
/// cookies), so the option is set here and nowhere else.
async function configure(kind) {
  const c = registered[kind];
  const options = { execute: [client.allowInsecureRequests] };
  if (kind === "confidential")
    return client.discovery(issuer, c.client_id, { client_secret: c.client_secret },
                            client.ClientSecretBasic(), options);
  return client.discovery(issuer, c.client_id, undefined, client.None(), options);
}

/// The user signs in on the hosted page (the browser sits on /login with
/// return_to set to the authorization request) by `method`.
async function signIn(method, label) {
  await page.locator("#signin").waitFor({ state: "visible" });
  check(new URL(page.url()).pathname === "/login", `not on the sign-in page: ${page.url()}`);
  const returnTo = await page.getAttribute("#app", "data-return-to");
  check(returnTo.startsWith("/oauth2/authorize?"), `return_to is ${returnTo}`);
  await log.shot(page, `${label}-sign-in-page`);
  if (method === "passkey") {
    await page.click("#passkey-signin");
    return;
  }
  // The emailed link, opened in a second tab as from a mail client; its
  // confirmation page signs that tab in, and the first tab (polling its
  // cookie) continues to return_to.
  const seen = outboxNames(args.outbox);
  await page.fill("#email", args.email);
  await page.click("#email-submit");
  await page.locator("#code-step").waitFor({ state: "visible" });
  const link = await waitForLink(args.outbox, args.email, seen, timeout);
  note(`${label}: read the link from the outbox`);
  const tab2 = await context.newPage();
  watch(tab2, { note, problems, label: "tab2" });
  const res = await tab2.goto(link);
  check(res.status() === 200, `GET link answered ${res.status()}`);
  await Promise.all([tab2.waitForURL(/\/login/), tab2.click("#confirm")]);
  await tab2.locator("#account").waitFor({ state: "visible" });
  await tab2.close();
}

/// One whole flow for the `kind` client signing in by `method`.
async function flow(kind, method, { consent, addPasskey = null }) {
  const label = `${kind}-${method}`;
  const c = registered[kind];
  const config = await configure(kind);
  const meta = config.serverMetadata();
  check(meta.issuer === issuer.origin, `discovered issuer ${meta.issuer}`);
  check(meta.code_challenge_methods_supported.includes("S256"), "no S256 in discovery");
  note(`${label}: discovery ok (${meta.authorization_endpoint})`);

  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: c.redirect_uri,
    scope: "openid email profile offline_access",
    code_challenge: challenge,
    code_challenge_method: "S256",
    nonce,
    state,
  });
  check(!(await sessionCookie()), `${label}: a browser session exists before the flow`);
  await page.goto(url.href);
  await signIn(method, label);
  if (consent) {
    await page.locator("#allow").waitFor({ state: "visible" });
    await log.shot(page, `${label}-consent`);
    await page.click("#allow");
  }
  await page.waitForURL((u) => u.href.startsWith(c.redirect_uri + "?"));
  const callback = new URL(page.url());
  check(callback.searchParams.get("iss") === issuer.origin, `callback ${callback}`);
  check(rpHits.some((h) => h.startsWith(new URL(c.redirect_uri).pathname + "?code=")),
        `${label}: the RP's server saw no callback`);
  await log.shot(page, `${label}-callback`);

  // The library checks state, iss (RFC 9207), the ID token (RS256 from the
  // JWKS, iss, aud, exp, iat, nonce, at_hash when present) and PKCE.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const amr = method === "passkey" ? "webauthn" : "magic_link";
  check(claims.email === args.email && claims.email_verified === true,
        `${label}: ID token email ${claims.email}`);
  check(JSON.stringify(claims.amr) === JSON.stringify([amr]), `${label}: amr ${claims.amr}`);
  check(tokens.token_type.toLowerCase() === "bearer" && tokens.refresh_token,
        `${label}: token response ${Object.keys(tokens)}`);
  note(`${label}: code exchanged, ID token valid (sub ${claims.sub}, amr ${claims.amr})`);

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  check(info.email === args.email && info.email_verified === true, `${label}: userinfo ${JSON.stringify(info)}`);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token,
        `${label}: the refresh token did not rotate`);
  check(refreshed.claims().sub === claims.sub, `${label}: the refreshed ID token's sub`);
  note(`${label}: userinfo and refresh ok`);

  if (addPasskey) await addPasskey();

  // Revocation ends the client's session: its tokens stop at once.
  await client.tokenRevocation(config, refreshed.refresh_token);
  let refused = null;
  try {
    await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  } catch (err) {
    refused = err;
  }
  check(refused && refused.status === 401, `${label}: userinfo after revocation: ${refused}`);
  refused = null;
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token);
  } catch (err) {
    refused = err;
  }
  check(refused && refused.error === "invalid_grant", `${label}: refresh after revocation: ${refused}`);
  note(`${label}: revoked`);

  // RP-initiated logout ends the browser session and comes back with state.
  const logoutState = client.randomState();
  const end = client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token,
    post_logout_redirect_uri: registered.post_logout_redirect_uri,
    state: logoutState,
  });
  await page.goto(end.href);
  await page.waitForURL((u) => u.href.startsWith(registered.post_logout_redirect_uri));
  const back = new URL(page.url());
  check(back.searchParams.get("state") === logoutState, `${label}: logout came back to ${back}`);
  check(!(await sessionCookie()), `${label}: the browser session survived the logout`);
  // And the provider knows it: prompt=none now answers login_required.
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: c.redirect_uri, scope: "openid", prompt: "none",
    code_challenge: challenge, code_challenge_method: "S256", state,
  });
  await page.goto(silent.href);
  await page.waitForURL((u) => u.href.startsWith(c.redirect_uri + "?"));
  const silentBack = new URL(page.url());
  check(silentBack.searchParams.get("error") === "login_required",
        `${label}: prompt=none after logout: ${silentBack}`);
  note(`${label}: logged out`);
  return { label, kind, method, client_id: c.client_id, nonce, amr,
           id_token: tokens.id_token, access_token: tokens.access_token,
           refreshed_id_token: refreshed.id_token, refreshed_access_token: refreshed.access_token };
}

let exitCode = 0;
try {
  const authenticator = await addPlatformAuthenticator(context, page);
  note(`virtual authenticator ${authenticator.authenticatorId}`);
  // The passkey is used through the button: with autofill the signed-out
  // page would sign in by itself and the email flows could not happen.
  await disablePasskeyAutofill(context);

  const addPasskey = async () => {
    await page.goto(`${issuer.origin}/login`);
    await page.locator("#account").waitFor({ state: "visible" });
    await page.fill("#passkey-name", "RP laptop");
    await page.click("#add-passkey");
    await page.locator("#passkeys li", { hasText: "RP laptop" }).waitFor();
    await log.shot(page, "passkey-added");
    note("passkey added on the account page");
  };
  const results = [];
  results.push(await flow("confidential", "link", { consent: false, addPasskey }));
  results.push(await flow("public", "passkey", { consent: true }));
  results.push(await flow("confidential", "passkey", { consent: false }));
  results.push(await flow("public", "link", { consent: false }));
  fs.writeFileSync(args.out, JSON.stringify(results, null, 2));

  const credentials = await authenticator.credentials();
  check(credentials.length === 1 && credentials[0].signCount >= 2,
        `the passkey was not used twice: ${JSON.stringify(credentials.map((c) => c.signCount))}`);
  check(problems.length === 0, `browser problems:\n${problems.join("\n")}`);
  note("ok: openid-client flows for a confidential and a public client, by email link and by passkey");
} catch (err) {
  exitCode = 1;
  console.error(`FAILED: ${err && err.stack ? err.stack : err}` +
                (err && err.cause ? `\ncause: ${JSON.stringify(err.cause)}` : ""));
  await log.failure(page);
} finally {
  log.save();
  await close();
  rp.close();
}
process.exit(exitCode);
