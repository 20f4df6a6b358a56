// The hosted sign-in page (GET /login): email link or code, passkeys with
// autofill (conditional mediation), authenticator-app codes, and once signed
// in the user's passkeys and sessions. Talks only to the /v1 API of the same
// origin.
// The session is the HttpOnly `__Host-pa_session` cookie (issue 16): every
// sign-in asks for it with `X-PA-Session: cookie`, so no token ever reaches
// this script's storage. For the bearer-token REST calls the page asks
// POST /v1/browser/token (CSRF-checked) for a short-lived access token that
// lives in memory only; a reload asks again. sessionStorage keeps only the
// pending email flow (never a token), removed at sign-in.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const FLOW = "pa.flow";
  const app = $("app");
  const redirectTo = app.dataset.redirectTo || "";
  // Checked by the server (a same-origin relative path) before it got here.
  const returnTo = app.dataset.returnTo || "";
  const freshSignIn = app.dataset.prompt === "login";

  let browser = null;       // GET /v1/browser/session's answer when signed in
  let staleSession = "";    // prompt=login: the live session to sign in over
  let access = null;        // { token, until } from POST /v1/browser/token
  let conditional = null;   // AbortController of a pending autofill request
  let pollTimer = null;     // collects a link confirmed on another device

  // -- plumbing -----------------------------------------------------------------

  function readStored(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (_) {
      return null;
    }
  }

  function store(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, JSON.stringify(value));
    } catch (_) {
      // Storage may be off; memory still works for this page's lifetime.
    }
  }

  function show(section) {
    for (const id of ["signin", "code-step", "totp-step", "account"])
      $(id).classList.toggle("hidden", id !== section);
  }

  function say(text) {
    $("status").textContent = text || "";
  }

  function fail(text) {
    $("error").textContent = text || "";
  }

  function explain(res) {
    const e = res && res.data && res.data.error;
    if (!e) return "Something went wrong (" + (res ? res.status : "network") + ").";
    const reason = e.details && e.details.reason ? " (" + e.details.reason + ")" : "";
    return e.message + reason;
  }

  /// One same-origin request. `extra` are headers; `withAuth` adds the
  /// in-memory access token (fetching one first when there is none).
  async function call(method, path, body, extra) {
    const headers = { ...(extra || {}) };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (err) {
      return { status: 0, data: null };
    }
    let data = null;
    if (res.status !== 204) {
      try {
        data = await res.json();
      } catch (_) {
        data = null;
      }
    }
    return { status: res.status, data };
  }

  async function api(method, path, body, withAuth, retried) {
    if (!withAuth) return call(method, path, body);
    if (!(await ensureAccess())) return { status: 401, data: null };
    const res = await call(method, path, body, { Authorization: "Bearer " + access.token });
    if (res.status === 401 && !retried) {
      // Expired or revoked: ask the cookie once more.
      access = null;
      return api(method, path, body, withAuth, true);
    }
    return res;
  }

  /// A sign-in request: the answer is the browser session (the cookie is
  /// set by the response), never tokens.
  function signIn(path, body) {
    return call("POST", path, body, { "X-PA-Session": "cookie" });
  }

  /// A short-lived access token from the cookie, kept in memory only.
  async function ensureAccess() {
    if (access && Date.now() < access.until) return true;
    if (!browser) return false;
    const res = await call("POST", "/v1/browser/token", undefined,
                           { "X-CSRF-Token": browser.csrf_token });
    if (res.status !== 200) {
      access = null;
      if (res.status === 401) signedOut();
      return false;
    }
    // Renewed a little before it expires.
    access = { token: res.data.access_token,
               until: Date.now() + Math.max(5, res.data.expires_in - 30) * 1000 };
    return true;
  }

  // -- base64url and WebAuthn JSON ------------------------------------------------

  function b64uEncode(buffer) {
    const bytes = new Uint8Array(buffer);
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function b64uDecode(text) {
    const s = text.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(s + "===".slice((s.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: b64uDecode(d.id) }));

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function")
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    return {
      ...json,
      challenge: b64uDecode(json.challenge),
      user: { ...json.user, id: b64uDecode(json.user.id) },
      excludeCredentials: descriptors(json.excludeCredentials),
    };
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function")
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    return { ...json, challenge: b64uDecode(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try {
        return cred.toJSON();
      } catch (_) {
        // fall through to the manual form
      }
    }
    const r = cred.response;
    const out = {
      id: cred.id,
      rawId: b64uEncode(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: b64uEncode(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = b64uEncode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = b64uEncode(r.authenticatorData);
      out.response.signature = b64uEncode(r.signature);
      out.response.userHandle = r.userHandle ? b64uEncode(r.userHandle) : null;
    }
    return out;
  }

  // -- signing in -----------------------------------------------------------------

  async function signedIn(session) {
    stopPolling();
    stopConditional();
    store(FLOW, null);
    browser = session;
    access = null;
    // A shared device should not keep the address for the next person.
    $("email").value = "";
    $("code").value = "";
    $("totp-email").value = "";
    $("totp-code").value = "";
    fail("");
    say("");
    if (returnTo) return continueTo();
    await showAccount();
  }

  /// After a sign-in on /login?return_to=...: on to where the user came
  /// from (e.g. /oauth2/authorize), in this tab.
  function continueTo() {
    say("Signed in. Continuing…");
    location.assign(returnTo);
  }

  function signedOut() {
    browser = null;
    access = null;
    show("signin");
    startConditional();
  }

  async function startEmail(event) {
    event.preventDefault();
    fail("");
    const email = $("email").value.trim();
    if (!email) return fail("Please enter your email address.");
    const body = { email };
    if (redirectTo) body.redirect_to = redirectTo;
    const res = await api("POST", "/v1/auth/email/start", body);
    if (res.status !== 202) return fail(explain(res));
    stopConditional();
    store(FLOW, { flow_id: res.data.flow_id, flow_secret: res.data.flow_secret,
                  match_number: res.data.match_number, email });
    $("sent-to").textContent = email;
    $("match-number").textContent = String(res.data.match_number);
    $("code").value = "";
    show("code-step");
    $("code").focus();
    startPolling();
  }

  async function verifyCode(event) {
    event.preventDefault();
    fail("");
    const flow = readStored(FLOW);
    const code = $("code").value.trim();
    if (!flow) return restart();
    if (!/^[0-9]{6}$/.test(code)) return fail("The code has 6 digits.");
    const res = await signIn("/v1/auth/email/verify-code", { flow_id: flow.flow_id, code });
    if (res.status !== 200) return fail(explain(res));
    await signedIn(res.data);
  }

  function startPolling() {
    stopPolling();
    // Once the exchange says the flow is over (its link was used, maybe in
    // another tab of this browser, which then holds the cookie), only the
    // cookie is watched, until the flow would have expired.
    let exchangeOver = false;
    const until = Date.now() + 15 * 60 * 1000;
    pollTimer = setInterval(async () => {
      const flow = readStored(FLOW);
      if (!flow || Date.now() > until) return stopPolling();
      const mine = await call("GET", "/v1/browser/session");
      if (mine.status === 200 && mine.data && mine.data.signed_in &&
          mine.data.session.id !== staleSession)
        return signedIn(mine.data);
      if (exchangeOver) return;
      const res = await signIn("/v1/auth/email/exchange",
                               { flow_id: flow.flow_id, flow_secret: flow.flow_secret });
      if (res.status === 200) await signedIn(res.data);
      else if (res.status !== 202) exchangeOver = true;
    }, 3000);
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function restart() {
    stopPolling();
    store(FLOW, null);
    fail("");
    show("signin");
    startConditional();
  }

  async function finishPasskey(challengeId, cred) {
    const res = await signIn("/v1/webauthn/login/verify",
                             { challenge_id: challengeId, credential: credentialJSON(cred) });
    if (res.status !== 200) {
      fail(explain(res));
      return false;
    }
    await signedIn(res.data);
    return true;
  }

  async function passkeySignIn() {
    fail("");
    if (!window.PublicKeyCredential) return fail("This browser does not support passkeys.");
    stopConditional();
    // An address typed in narrows the choice; without one the authenticator
    // offers its passkeys for this site (usernameless).
    const email = $("email").value.trim();
    const opts = await api("POST", "/v1/webauthn/login/options", email ? { email } : {});
    if (opts.status !== 200) return fail(explain(opts));
    say("Waiting for your passkey…");
    let cred;
    try {
      cred = await navigator.credentials.get({ publicKey: requestOptions(opts.data.public_key) });
    } catch (err) {
      say("");
      fail(err && err.name === "NotAllowedError" ? "No passkey was used." : String(err));
      return startConditional();
    }
    say("");
    if (!(await finishPasskey(opts.data.challenge_id, cred))) startConditional();
  }

  /// Passkey autofill: the email field's suggestions include passkeys.
  async function startConditional() {
    if (browser || conditional || !window.PublicKeyCredential) return;
    if (typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return;
    let available = false;
    try {
      available = await PublicKeyCredential.isConditionalMediationAvailable();
    } catch (_) {
      available = false;
    }
    if (!available || conditional) return;
    const controller = new AbortController();
    conditional = controller;
    const opts = await api("POST", "/v1/webauthn/login/options", {});
    if (opts.status !== 200 || controller.signal.aborted) {
      if (conditional === controller) conditional = null;
      return;
    }
    let cred;
    try {
      cred = await navigator.credentials.get({
        mediation: "conditional",
        publicKey: requestOptions(opts.data.public_key),
        signal: controller.signal,
      });
    } catch (_) {
      // Aborted (another sign-in started) or dismissed.
      if (conditional === controller) conditional = null;
      return;
    }
    if (conditional === controller) conditional = null;
    if (!(await finishPasskey(opts.data.challenge_id, cred))) startConditional();
  }

  function stopConditional() {
    if (conditional) conditional.abort();
    conditional = null;
  }

  // -- the signed-in view -----------------------------------------------------------

  function item(text, meta, actions) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = text;
    li.appendChild(name);
    if (meta) {
      const m = document.createElement("div");
      m.className = "meta";
      m.textContent = meta;
      li.appendChild(m);
    }
    for (const [label, handler] of actions || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = label;
      b.addEventListener("click", handler);
      li.appendChild(b);
    }
    return li;
  }

  const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "never");

  async function showAccount() {
    if (!browser) return signedOut();
    $("who").textContent = browser.user.email;
    show("account");
    await Promise.all([listPasskeys(), listSessions()]);
    if (redirectTo) say("Signed in. You can return to the application.");
  }

  async function listPasskeys() {
    const res = await api("GET", "/v1/me/passkeys", undefined, true);
    const ul = $("passkeys");
    ul.replaceChildren();
    if (res.status !== 200) return fail(explain(res));
    if (!res.data.passkeys.length) ul.appendChild(item("No passkeys yet."));
    for (const p of res.data.passkeys) {
      ul.appendChild(item(p.name,
        "added " + when(p.created_at) + ", last used " + when(p.last_used_at) +
        (p.backed_up ? ", synced" : ""),
        [["Rename", () => renamePasskey(p)], ["Remove", () => deletePasskey(p)]]));
    }
  }

  async function listSessions() {
    const res = await api("GET", "/v1/me/sessions", undefined, true);
    const ul = $("sessions");
    ul.replaceChildren();
    if (res.status !== 200) return fail(explain(res));
    for (const s of res.data.sessions) {
      const label = (s.user_agent || "unknown device") + (s.current ? " (this one)" : "");
      const actions = s.current ? [] : [["Sign out", () => revokeSession(s.id)]];
      ul.appendChild(item(label, "since " + when(s.created_at) + (s.ip ? ", " + s.ip : ""), actions));
    }
  }

  async function addPasskey() {
    fail("");
    if (!window.PublicKeyCredential) return fail("This browser does not support passkeys.");
    stopConditional();
    const opts = await api("POST", "/v1/webauthn/register/options", undefined, true);
    if (opts.status !== 200) return fail(explain(opts));
    say("Follow your browser's prompt to create a passkey…");
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: creationOptions(opts.data.public_key) });
    } catch (err) {
      say("");
      return fail(err && err.name === "InvalidStateError"
        ? "This authenticator already holds a passkey for your account."
        : err && err.name === "NotAllowedError" ? "No passkey was created." : String(err));
    }
    const body = { challenge_id: opts.data.challenge_id, credential: credentialJSON(cred) };
    const name = $("passkey-name").value.trim();
    if (name) body.name = name;
    const res = await api("POST", "/v1/webauthn/register/verify", body, true);
    if (res.status !== 201) {
      say("");
      return fail(explain(res));
    }
    $("passkey-name").value = "";
    say("Passkey added.");
    await listPasskeys();
  }

  async function renamePasskey(p) {
    const name = $("passkey-name").value.trim();
    if (!name) return fail("Type the new name into the name field first.");
    const res = await api("PATCH", "/v1/me/passkeys/" + encodeURIComponent(p.id), { name }, true);
    if (res.status !== 200) return fail(explain(res));
    $("passkey-name").value = "";
    await listPasskeys();
  }

  async function deletePasskey(p) {
    const res = await api("DELETE", "/v1/me/passkeys/" + encodeURIComponent(p.id), undefined, true);
    if (res.status !== 204) return fail(explain(res));
    say("Passkey removed.");
    await listPasskeys();
  }

  async function revokeSession(id) {
    const res = await api("DELETE", "/v1/me/sessions/" + encodeURIComponent(id), undefined, true);
    if (res.status !== 204) return fail(explain(res));
    await listSessions();
  }

  async function signOut() {
    if (browser)
      await call("POST", "/v1/browser/logout", { scope: "local" },
                 { "X-CSRF-Token": browser.csrf_token });
    say("Signed out.");
    signedOut();
  }

  // -- authenticator app (TOTP) sign-in ---------------------------------------------

  function startTotp() {
    fail("");
    stopConditional();
    $("totp-email").value = $("email").value.trim();
    show("totp-step");
    $($("totp-email").value ? "totp-code" : "totp-email").focus();
  }

  async function verifyTotp(event) {
    event.preventDefault();
    fail("");
    const email = $("totp-email").value.trim();
    const code = $("totp-code").value.trim();
    if (!email) return fail("Please enter your email address.");
    if (!/^[0-9]{6}$/.test(code)) return fail("The code has 6 digits.");
    const res = await signIn("/v1/auth/totp/verify", { email, code });
    if (res.status !== 200) return fail(explain(res));
    await signedIn(res.data);
  }

  // -- start --------------------------------------------------------------------------

  async function exchangeFragment() {
    // A redirect back here carries a one-time exchange code in the fragment.
    const m = /(?:^#|&)code=([A-Za-z0-9_-]+)/.exec(location.hash);
    if (!m) return false;
    history.replaceState(null, "", location.pathname + location.search);
    const res = await signIn("/v1/auth/exchange", { code: m[1] });
    if (res.status !== 200) {
      fail(explain(res));
      return false;
    }
    await signedIn(res.data);
    return true;
  }

  // -- email change (issue 17) -------------------------------------------------------
  // The answer is the same for every address, so the page says only where to look.

  async function requestEmailChange(event) {
    event.preventDefault();
    fail("");
    const addr = $("new-email").value.trim();
    if (!addr) return fail("Enter the new email address.");
    const res = await api("POST", "/v1/me/email", { new_email: addr }, true);
    if (res.status === 403 && res.data && res.data.error &&
        res.data.error.code === "reauthentication_required")
      return fail("For this change, sign in again first (sign out, then sign in).");
    if (res.status !== 202) return fail(explain(res));
    $("email-change-code-form").classList.remove("hidden");
    say("If " + addr + " can be used, we sent it a link and a code. Your current " +
        "address got a notice.");
  }

  async function confirmEmailChange(event) {
    event.preventDefault();
    fail("");
    const res = await api("POST", "/v1/me/email/confirm",
                          { code: $("email-change-code").value.trim() }, true);
    if (res.status !== 200) return fail(explain(res));
    $("who").textContent = res.data.email;
    $("email-change-code-form").classList.add("hidden");
    $("email-change-form").reset();
    say("Your email address is now " + res.data.email + ".");
  }

  $("email-change-form").addEventListener("submit", requestEmailChange);
  $("email-change-code-form").addEventListener("submit", confirmEmailChange);

  // -- end email change -----------------------------------------------------------------
  // -- personal data export (issue 17) --
  async function downloadData() {
    fail("");
    const res = await api("GET", "/v1/me/export", undefined, true);
    if (res.status !== 200 || !res.data) {
      const code = res.data && res.data.error && res.data.error.code;
      fail(code === "reauthentication_required"
        ? "For your security, sign in again (email code or passkey) to download your data."
        : explain(res));
      return;
    }
    const blob = new Blob([JSON.stringify(res.data, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = "account-export-" + res.data.user_id + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
    say("Your data was downloaded.");
  }
  // -- end personal data export --

  async function start() {
    $("email-form").addEventListener("submit", startEmail);
    $("code-form").addEventListener("submit", verifyCode);
    $("restart").addEventListener("click", restart);
    $("passkey-signin").addEventListener("click", passkeySignIn);
    $("add-passkey").addEventListener("click", addPasskey);
    $("signout").addEventListener("click", signOut);
    $("download-data").addEventListener("click", downloadData);
    $("totp-start").addEventListener("click", startTotp);
    $("totp-form").addEventListener("submit", verifyTotp);
    $("totp-back").addEventListener("click", restart);
    // Left over from before the cookie (issue 16): tokens are no longer kept.
    store("pa.tokens", null);
    if (await exchangeFragment()) return;
    const mine = await call("GET", "/v1/browser/session");
    // prompt=login: sign in again even though a session is live (the new
    // sign-in replaces it).
    if (mine.status === 200 && mine.data && mine.data.signed_in) {
      if (freshSignIn) {
        staleSession = mine.data.session.id;
      } else {
        browser = mine.data;
        if (returnTo) return continueTo();
        return showAccount();
      }
    }
    const flow = readStored(FLOW);
    if (flow) {
      $("sent-to").textContent = flow.email;
      $("match-number").textContent = String(flow.match_number || "");
      show("code-step");
      startPolling();
      return;
    }
    show("signin");
    startConditional();
  }

  start();
})();
