#pragma once
// The browser session for front code (issue 16): resolving the request's
// `__Host-pa_session` cookie, starting one after a hosted-page sign-in,
// ending one (logout), and the CSRF rules for requests the cookie
// authenticates. The cookie and CSRF primitives are auth/browser_cookie;
// the session itself is owned by the session actor (browser_bind,
// browser_lookup in actors/browser_messages.hpp).
//
// Contract (for every route that relies on the cookie, e.g. the OpenID
// Provider's /oauth2/authorize):
// - A browser session is an ordinary row of `sessions` (listed in
//   GET /v1/me/sessions, revoked by logout, logout everywhere, admin
//   revoke, disable and delete, held to auth.session_idle_timeout and
//   auth.session_max_per_user). A revoked, idle or expired session never
//   resolves again, from the moment the session actor processed that.
// - resolve_browser_session() calls `then` exactly once with the session
//   or nullopt ("no session": no cookie, a malformed one, an unknown,
//   revoked, idle or expired session, or a wrong secret; all alike), unless
//   the session actor failed (timeout, down): then it has answered the
//   request itself (503/500, like every owner call) and `then` is not
//   called. Continuation style: `then` runs on the front actor, inside
//   guarded(), so an exception becomes a 500. A success counts as activity
//   (restarts the idle time, moves the sliding expiry).
// - Resolution does not check CSRF: GET routes that only read (or that
//   redirect with a code, like authorize) need none; every state-changing
//   request the cookie authenticates must pass check_browser_csrf() first.
// - start_browser_session() binds a cookie to a session a hosted sign-in
//   just opened and puts its Set-Cookie on the response (ctx->extra_headers).
// - end_browser_session() revokes the session (reason as in revocation)
//   and puts the clearing Set-Cookie on the response; the cookie is
//   cleared even when there was no live session.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/messages.hpp"
#include "auth/browser_cookie.hpp"
#include "front/http_front.hpp"

namespace authsvc::browser {

/// A live browser session, resolved from the request's cookie.
struct browser_session {
  std::string session_id;
  std::string user_id;
  user_info user; ///< as cached with the session (email, name, locale)
  /// When the user last signed in to this session (unix seconds): the
  /// OpenID `auth_time`; prompt=login / max_age compare against it.
  std::int64_t auth_time = 0;
  /// How (e.g. ["otp"], ["magic_link"], ["webauthn"], ["totp"]).
  std::vector<std::string> amr;
  /// This session's CSRF token (what check_browser_csrf() wants back). The
  /// hosted pages read it from GET /v1/browser/session; a server-rendered
  /// form can embed it in a hidden `csrf_token` field.
  std::string csrf_token;
  std::int64_t created_at = 0;
  /// The absolute expiry: the cookie's Max-Age follows it.
  std::int64_t absolute_expires_at = 0;
  /// Set by resolve_browser_token() only: a fresh access token of this
  /// session (aud = tokens.audience), for the hosted page's REST calls.
  std::string access_token;
  std::int64_t access_expires_in = 0;
  /// The cookie secret (needed to check the CSRF token; never log it).
  std::string secret;
};

using session_fn = std::function<void(std::optional<browser_session>)>;

/// Resolves the request's `__Host-pa_session` cookie (see the contract).
void resolve_browser_session(const context_ptr& ctx, session_fn then);

/// Like resolve_browser_session(), and mints a short-lived access token of
/// the session (browser_session::access_token). Check CSRF before using it
/// as an answer to a state-changing request (POST /v1/browser/token does).
void resolve_browser_token(const context_ptr& ctx, session_fn then);

/// Makes `session_id` (opened by a hosted-page sign-in of this request) a
/// browser session: binds a fresh cookie secret to it and adds the
/// Set-Cookie header to ctx->extra_headers. `then` gets the session, or
/// nullopt when it was revoked meanwhile; an owner failure answers the
/// request itself (as resolve_browser_session()).
void start_browser_session(const context_ptr& ctx,
                           const std::string& session_id, session_fn then);

/// Revokes session `s` (revocation reason `reason`, e.g. "logout") and
/// adds the clearing Set-Cookie to ctx->extra_headers, then calls `then`.
void end_browser_session(const context_ptr& ctx, const browser_session& s,
                         std::string reason, std::function<void()> then);

/// Adds the clearing Set-Cookie to ctx->extra_headers (no revocation).
void clear_browser_cookie(const context_ptr& ctx);

/// Whether the cookie is sent with the Secure attribute on this request:
/// when it came over TLS (server TLS, or a trusted proxy's
/// X-Forwarded-Proto / Forwarded, see auth/client_ip), and when
/// server.public_url is a loopback origin (http://localhost:PORT), where
/// browsers accept Secure cookies over plain HTTP and refuse a `__Host-`
/// cookie without it. Plain HTTP elsewhere: no Secure, and browsers refuse
/// the cookie (production runs behind TLS; docs/security.md).
bool cookie_secure(const context_ptr& ctx);

/// The CSRF token a request submitted: the `X-CSRF-Token` header, else
/// `form_field` (pass the `csrf_token` field of a form body, if any).
std::string submitted_csrf_token(const context_ptr& ctx,
                                 std::string_view form_field = {});

/// The CSRF rules for a state-changing request authenticated by `s`:
/// Origin (or, without it, Sec-Fetch-Site) must be our origin
/// (server.public_url), and `submitted` must be the session's CSRF token.
auth::csrf_verdict check_browser_csrf(const context_ptr& ctx,
                                      const browser_session& s,
                                      std::string_view submitted);

/// Whether the request comes from a page of our own origin (the half of
/// check_browser_csrf() that needs no session: for requests that create a
/// browser session, against login CSRF).
bool same_origin_request(const context_ptr& ctx);

/// Answers a refused CSRF check (never call it with ok): 403
/// `cross_site_request` with details.reason "cross_site" or "csrf_token",
/// as JSON, or as the result page when `page` (a form post).
void reply_csrf_refusal(const context_ptr& ctx, auth::csrf_verdict v,
                        bool page = false);

} // namespace authsvc::browser
