#pragma once
// The browser session's routes (issue 16): what the hosted pages use once
// the `__Host-pa_session` cookie holds their session.
//   GET  /v1/browser/session  who is signed in, and the CSRF token
//   POST /v1/browser/token    a short-lived access token (CSRF-checked)
//   POST /v1/browser/logout   ends the session, clears the cookie
//                             (CSRF-checked; JSON or a form)
// And the sign-in side: a sign-in request carrying `X-PA-Session: cookie`
// (from a page of our own origin) gets the cookie instead of tokens.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

void browser_session_get(const context_ptr& ctx);
void browser_token(const context_ptr& ctx);
void browser_logout(const context_ptr& ctx);

/// Whether the request asks for a browser session (`X-PA-Session: cookie`).
bool wants_browser_session(const context_ptr& ctx);

/// Before a sign-in handler: a request that asks for a browser session must
/// come from our own origin (login CSRF), else 403 cross_site_request; it
/// is then marked ctx->browser_sign_in, and reply_tokens() answers it with
/// the cookie.
bool admit_browser_sign_in(const context_ptr& ctx);

/// A sign-in route that can answer with a browser session.
template <handler_fn F>
void cookie_sign_in(const context_ptr& ctx) {
  if (admit_browser_sign_in(ctx))
    F(ctx);
}

/// Answers a hosted-page sign-in that opened session `session_id`: the
/// session becomes a browser session (Set-Cookie), a browser session the
/// request's old cookie held is ended (replaced), and the body is the
/// browser session's JSON (no tokens).
void reply_browser_signed_in(const context_ptr& ctx,
                             const std::string& session_id);

} // namespace authsvc::http_routes
