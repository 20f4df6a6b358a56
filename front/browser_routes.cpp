#include "front/browser_routes.hpp"

#include "front/browser_session.hpp"
#include "front/middleware.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

using browser::browser_session;

nlohmann::json session_json(const browser_session& s) {
  return {{"signed_in", true},
          {"user", user_json(s.user)},
          {"session",
           {{"id", s.session_id},
            {"created_at", s.created_at},
            {"expires_at", s.absolute_expires_at},
            {"auth_time", s.auth_time},
            {"amr", s.amr}}},
          {"csrf_token", s.csrf_token}};
}

bool is_form(const context_ptr& ctx) {
  return http::has_media_type(ctx->req, "application/x-www-form-urlencoded");
}

/// Binds the cookie to `session_id`, ends the browser session the request's
/// old cookie held (a new sign-in replaces it), then `then(session)`.
void bind_replacing(const context_ptr& ctx, const std::string& session_id,
                    const std::function<void(const browser_session&)>& then) {
  browser::resolve_browser_session(
      ctx, [ctx, session_id, then](const std::optional<browser_session>& old) {
        browser::start_browser_session(
            ctx, session_id,
            [ctx, old, then](const std::optional<browser_session>& s) {
              if (!s)
                return ctx->reply_error("unauthorized");
              if (old && old->session_id != s->session_id)
                caf::anon_send(ctx->svc().sessions, atom::revoke_atom_v,
                               make_revocation(ctx, old->session_id,
                                               old->user_id, {},
                                               "replaced_by_sign_in"));
              ctx->log_fields["browser_session"] = "started";
              then(*s);
            });
      });
}

} // namespace

bool wants_browser_session(const context_ptr& ctx) {
  return ctx->req.header("X-PA-Session") == "cookie";
}

bool admit_browser_sign_in(const context_ptr& ctx) {
  if (!wants_browser_session(ctx))
    return true;
  if (!browser::same_origin_request(ctx)) {
    browser::reply_csrf_refusal(ctx, auth::csrf_verdict::cross_site);
    return false;
  }
  ctx->browser_sign_in = true;
  return true;
}

void reply_browser_signed_in(const context_ptr& ctx,
                             const std::string& session_id) {
  bind_replacing(ctx, session_id, [ctx](const browser_session& s) {
    reply_no_store(ctx, 200, session_json(s));
  });
}

void browser_session_get(const context_ptr& ctx) {
  browser::resolve_browser_session(
      ctx, [ctx](const std::optional<browser_session>& s) {
        if (!s) {
          // A stale cookie goes; the answer is the same with or without.
          if (!ctx->req.header("Cookie").empty()
              && auth::find_browser_cookie(ctx->req.header("Cookie")))
            browser::clear_browser_cookie(ctx);
          return reply_no_store(ctx, 200, {{"signed_in", false}});
        }
        ctx->auth.user_id = s->user_id; // the access log's user_id
        reply_no_store(ctx, 200, session_json(*s));
      });
}

void browser_token(const context_ptr& ctx) {
  // The cheap half first: a cross-site request does not even reach the
  // session actor.
  if (!browser::same_origin_request(ctx))
    return browser::reply_csrf_refusal(ctx, auth::csrf_verdict::cross_site);
  browser::resolve_browser_token(
      ctx, [ctx](const std::optional<browser_session>& s) {
        if (!s)
          return ctx->reply_error("unauthorized");
        auto v = browser::check_browser_csrf(
            ctx, *s, browser::submitted_csrf_token(ctx));
        if (v != auth::csrf_verdict::ok)
          return browser::reply_csrf_refusal(ctx, v);
        ctx->auth.user_id = s->user_id;
        reply_no_store(ctx, 200,
                       {{"access_token", s->access_token},
                        {"token_type", "Bearer"},
                        {"expires_in", s->access_expires_in},
                        {"session_id", s->session_id}});
      });
}

void browser_logout(const context_ptr& ctx) {
  bool form = is_form(ctx);
  std::string form_token;
  std::string scope = "local";
  if (form) {
    auto fields = http::parse_form(ctx->req.body);
    form_token = http::form_value(fields, "csrf_token").value_or("");
    scope = http::form_value(fields, "scope").value_or("local");
  } else if (!ctx->req.body.empty()) {
    auto body = ctx->json_body();
    if (!body)
      return;
    field_errors errors;
    auto sc = errors.string(*body, "scope", false, 16);
    if (errors.reply_if_any(ctx))
      return;
    if (sc)
      scope = *sc;
  }
  if (scope != "local" && scope != "global") {
    field_errors errors;
    errors.add("scope", "must be local or global");
    errors.reply_if_any(ctx);
    return;
  }
  if (!browser::same_origin_request(ctx))
    return browser::reply_csrf_refusal(ctx, auth::csrf_verdict::cross_site,
                                       form);
  browser::resolve_browser_session(
      ctx,
      [ctx, form, form_token, scope](const std::optional<browser_session>& s) {
        auto done = [ctx, form] {
          if (!form)
            return no_content(ctx);
          http::response res;
          res.status = 303;
          res.set_header("Location", "/login");
          res.set_header("Cache-Control", "no-store");
          ctx->reply(std::move(res));
        };
        if (!s) {
          // Nothing to end: the cookie (if any) goes, the answer is the same.
          browser::clear_browser_cookie(ctx);
          return done();
        }
        auto v = browser::check_browser_csrf(
            ctx, *s, browser::submitted_csrf_token(ctx, form_token));
        if (v != auth::csrf_verdict::ok)
          return browser::reply_csrf_refusal(ctx, v, form);
        ctx->auth.user_id = s->user_id;
        ctx->log_fields["scope"] = scope;
        auto audited = [ctx, done, scope,
                        user_id = s->user_id](std::int32_t n) {
          ctx->audit("session.logout", true, user_id, {},
                     {{"scope", scope}, {"revoked", n}, {"browser", true}});
          done();
        };
        browser::clear_browser_cookie(ctx);
        // local: this session; global: every session of the user.
        auto rv
            = scope == "local"
                  ? make_revocation(ctx, s->session_id, s->user_id, {},
                                    "logout_local")
                  : make_revocation(ctx, {}, s->user_id, {}, "logout_global");
        revoke_then(ctx, rv, audited);
      });
}

} // namespace authsvc::http_routes
