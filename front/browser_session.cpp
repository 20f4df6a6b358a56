#include "front/browser_session.hpp"

#include "actors/browser_messages.hpp"
#include "actors/db_timeout.hpp"
#include "actors/safe_request.hpp"
#include "auth/crypto.hpp"
#include "front/pages.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::browser {

namespace {

browser_session session_of(const browser_result& r, std::string secret) {
  browser_session s;
  s.session_id = r.auth.session_id;
  s.user_id = r.auth.user_id;
  s.user = r.auth.user;
  s.auth_time = r.auth.auth_time;
  s.amr = r.auth.amr;
  s.created_at = r.auth.session_created_at;
  s.absolute_expires_at = r.absolute_expires_at;
  s.access_token = r.access_token;
  s.access_expires_in = r.expires_in;
  s.csrf_token = auth::browser_csrf_token(secret);
  s.secret = std::move(secret);
  return s;
}

/// Answers a browser_result: a session, "no session", or (the session
/// actor could not tell) 503.
void deliver(const context_ptr& ctx, browser_result& r, std::string secret,
             const session_fn& then) {
  if (r.error == "service_unavailable")
    return ctx->reply_error("service_unavailable");
  if (!r.error.empty())
    return then(std::nullopt);
  then(session_of(r, std::move(secret)));
}

void lookup(const context_ptr& ctx, bool mint, session_fn then) {
  auto cookie = auth::find_browser_cookie(ctx->req.header("Cookie"));
  if (!cookie)
    return guarded(ctx, [&] { then(std::nullopt); });
  browser_lookup q{cookie->session_id, cookie->secret, mint, ctx->client_ip,
                   http_routes::user_agent(ctx)};
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, std::move(q))
      .then(
          [ctx, then, secret = cookie->secret](browser_result& r) {
            guarded(ctx, [&] { deliver(ctx, r, secret, then); });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace

void resolve_browser_session(const context_ptr& ctx, session_fn then) {
  lookup(ctx, false, std::move(then));
}

void resolve_browser_token(const context_ptr& ctx, session_fn then) {
  lookup(ctx, true, std::move(then));
}

bool cookie_secure(const context_ptr& ctx) {
  if (ctx->https)
    return true;
  // Plain HTTP to a loopback public_url (a developer's machine, the browser
  // tests): browsers treat http://localhost as a secure context and accept
  // a Secure cookie there, while they refuse a `__Host-` cookie without
  // Secure everywhere (Chromium 156, checked; docs/security.md).
  return auth::loopback_origin(ctx->cfg().server.public_url);
}

void start_browser_session(const context_ptr& ctx,
                           const std::string& session_id, session_fn then) {
  auto minted = auth::mint_browser_cookie(session_id);
  safe_request(ctx->self, ctx->svc().sessions, db_timeout,
               browser_bind{session_id, minted.secret_hash})
      .then(
          [ctx, then, minted](browser_result& r) {
            guarded(ctx, [&] {
              if (r.error.empty()) {
                auto now = ctx->svc().clock->unix_seconds();
                ctx->extra_headers.push_back(
                    {"Set-Cookie",
                     auth::set_browser_cookie(
                         auth::browser_cookie_value(minted.cookie),
                         r.absolute_expires_at - now, cookie_secure(ctx))});
              }
              deliver(ctx, r, minted.cookie.secret, then);
            });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void clear_browser_cookie(const context_ptr& ctx) {
  ctx->extra_headers.push_back(
      {"Set-Cookie", auth::clear_browser_cookie(cookie_secure(ctx))});
}

void end_browser_session(const context_ptr& ctx, const browser_session& s,
                         std::string reason, std::function<void()> then) {
  clear_browser_cookie(ctx);
  auto rv = http_routes::make_revocation(ctx, s.session_id, s.user_id, {},
                                         std::move(reason));
  http_routes::revoke_then(ctx, rv,
                           [then = std::move(then)](std::int32_t) { then(); });
}

std::string submitted_csrf_token(const context_ptr& ctx,
                                 std::string_view form_field) {
  auto h = ctx->req.header("X-CSRF-Token");
  return std::string(h.empty() ? form_field : h);
}

auth::csrf_verdict check_browser_csrf(const context_ptr& ctx,
                                      const browser_session& s,
                                      std::string_view submitted) {
  return auth::check_browser_csrf(
      ctx->req.header("Origin"), ctx->req.header("Sec-Fetch-Site"),
      ctx->cfg().server.public_url, s.secret, submitted);
}

bool same_origin_request(const context_ptr& ctx) {
  return auth::browser_request_same_origin(ctx->req.header("Origin"),
                                           ctx->req.header("Sec-Fetch-Site"),
                                           ctx->cfg().server.public_url);
}

void reply_csrf_refusal(const context_ptr& ctx, auth::csrf_verdict v,
                        bool page) {
  const char* reason
      = v == auth::csrf_verdict::cross_site ? "cross_site" : "csrf_token";
  ctx->log_fields["refused"] = std::string("csrf:") + reason;
  if (!page)
    return ctx->reply_error("cross_site_request", {}, {{"reason", reason}});
  ctx->reply(http::page_response(
      403, "link_result",
      {{"ok", false},
       {"title", "This request was blocked"},
       {"message", "The form was sent from another website or an old page, "
                   "so nothing was changed. Go back to the sign-in page and "
                   "try again."},
       {"error", "cross_site_request"}}));
}

} // namespace authsvc::browser
