#include "front/account_routes.hpp"

#include "actors/email_change_flow.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/url.hpp"
#include "db/email_change_store.hpp"
#include "front/error_table.hpp"
#include "front/pages.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

auto failure(const context_ptr& ctx) {
  return [ctx](caf::error& e) { ctx->reply_failure(e); };
}

/// The confirm and cancel links: a form from our own page, or JSON.
struct link_post {
  bool form = false;
  std::string token; ///< empty: already answered
};

/// Reads the token of a confirm or cancel POST; answers (and returns an
/// empty token) for a malformed body or a cross-site form.
link_post read_link_post(const context_ptr& ctx) {
  link_post p;
  p.form = http::has_media_type(ctx->req, "application/x-www-form-urlencoded");
  if (p.form) {
    // Login CSRF's cousin: only our own page may submit the form.
    if (!auth::form_post_same_origin(ctx->req.header("Origin"),
                                     ctx->req.header("Sec-Fetch-Site"),
                                     ctx->cfg().server.public_url)) {
      ctx->log_fields["refused"] = "cross_site_request";
      ctx->reply(http::page_response(
          403, "link_result",
          {{"ok", false},
           {"title", "This request was blocked"},
           {"message", "The form was sent from another website, so it was not "
                       "used. Open the link from the email again and press "
                       "the button there."},
           {"error", "cross_site_request"}}));
      return p;
    }
    auto fields = http::parse_form(ctx->req.body);
    p.token = http::form_value(fields, "token").value_or("");
    if (p.token.empty() || p.token.size() > 128) {
      p.token.clear();
      ctx->reply(http::page_response(
          400, "link_result",
          {{"ok", false},
           {"title", "This link can't be used"},
           {"message", "The link is invalid, was already used, or has expired."},
           {"error", "invalid_link"}}));
    }
    return p;
  }
  auto body = ctx->json_body();
  if (!body)
    return p;
  field_errors errors;
  auto t = errors.string(*body, "token", true, 128);
  if (t && t->empty())
    errors.add("token", "must not be empty");
  if (errors.reply_if_any(ctx))
    return p;
  p.token = *t;
  return p;
}

/// A refused confirm or cancel: the JSON error, or the result page.
void link_refused(const context_ptr& ctx, bool form, const error& e) {
  auto api = http::to_api_error(e);
  if (!form)
    return ctx->reply_error(api);
  bool taken = api.code == "conflict";
  ctx->reply(http::page_response(
      taken ? 409 : 400, "link_result",
      {{"ok", false},
       {"title", taken ? "This address can't be used"
                       : "This link can't be used"},
       {"message", taken ? "Another account uses this address now, so the "
                           "change was not made."
                         : "The link is invalid, was already used, or has "
                           "expired."},
       {"error", std::string(api.code)}}));
}

/// GET of a confirm or cancel link: reads only (mail scanners prefetch).
void link_page(const context_ptr& ctx, bool cancel) {
  auto form = http::parse_form(ctx->req.query());
  auto token = http::form_value(form, "token").value_or("");
  nlohmann::json vars = {{"has_token", false}, {"cancel", cancel}};
  if (token.empty() || token.size() > 128)
    return ctx->reply(http::page_response(400, "email_change", vars));
  if (cancel) {
    // The cancel page shows nothing of the request: it works without a
    // read, and the button is the only thing that acts.
    vars["has_token"] = true;
    vars["token"] = token;
    return ctx->reply(http::page_response(200, "email_change", vars));
  }
  db_read(ctx,
          db::email_change_store::pending_by_link(auth::token_hash(token),
                                                  unix_now(ctx)),
          [ctx, token, vars](db::rowset& rs) mutable {
            auto v = db::email_change_store::decode_link_view(rs);
            if (!v)
              return ctx->reply(http::page_response(400, "email_change", vars));
            vars["has_token"] = true;
            vars["token"] = token;
            vars["new_email"] = v->new_email;
            vars["ip"] = v->ip;
            // None: the page says "unknown".
            if (auto shown = auth::display_user_agent(v->user_agent);
                !shown.empty())
              vars["device"] = shown;
            vars["time"] = utc_time(v->created_at);
            ctx->reply(http::page_response(200, "email_change", vars));
          });
}

} // namespace

void me_email_change(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto in_addr = errors.string(*body, "new_email", true, 320);
  email_change_input in;
  if (in_addr) {
    auto n = auth::normalise_email(*in_addr);
    if (n)
      in.new_email = *n.address;
    else
      errors.add("new_email", std::string(auth::to_string(n.error)));
  }
  if (errors.reply_if_any(ctx))
    return;
  in.user = ctx->auth.user;
  in.user.id = ctx->auth.user_id;
  in.session_id = ctx->auth.session_id;
  in.accept_language = std::string(ctx->req.header("Accept-Language"));
  request_email_change(
      ctx->self, ctx->svc(), requester_of(ctx), in,
      [ctx](email_change_outcome& out) {
        guarded(ctx, [&] {
          if (!out.internal_cause.empty())
            return ctx->reply_internal(out.internal_cause);
          // Operators only; the caller gets the same 202 for every outcome.
          ctx->log_fields["email_change"] = out.kind;
          reply_no_store(
              ctx, 202,
              {{"status", "pending"}, {"expires_in", out.expires_in}});
        });
      },
      failure(ctx));
}

void me_email_confirm_code(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto code = errors.six_digit_code(*body, "code");
  if (errors.reply_if_any(ctx))
    return;
  confirm_email_change_by_code(
      ctx->self, ctx->svc(), requester_of(ctx), *code,
      [ctx](result<email_changed>& r) {
        guarded(ctx, [&] {
          if (!r)
            return ctx->reply_error(http::to_api_error(r.err()));
          ctx->reply_json(200, user_json(r->user));
        });
      },
      failure(ctx));
}

void email_change_confirm_page(const context_ptr& ctx) {
  link_page(ctx, false);
}

void email_change_confirm(const context_ptr& ctx) {
  auto p = read_link_post(ctx);
  if (p.token.empty())
    return;
  confirm_email_change_by_link(
      ctx->self, ctx->svc(), requester_of(ctx), p.token,
      [ctx, form = p.form](result<email_changed>& r) {
        guarded(ctx, [&] {
          if (!r)
            return link_refused(ctx, form, r.err());
          if (!form)
            return ctx->reply_json(
                200, {{"status", "confirmed"}, {"email", r->user.email}});
          ctx->reply(http::page_response(
              200, "link_result",
              {{"ok", true},
               {"title", "Email address changed"},
               {"message", "Your account now uses " + r->user.email
                               + ". You can close this tab."}}));
        });
      },
      failure(ctx));
}

void email_change_cancel_page(const context_ptr& ctx) {
  link_page(ctx, true);
}

void email_change_cancel(const context_ptr& ctx) {
  auto p = read_link_post(ctx);
  if (p.token.empty())
    return;
  cancel_email_change(
      ctx->self, ctx->svc(), requester_of(ctx), p.token,
      [ctx, form = p.form](result<email_change_cancelled>& r) {
        guarded(ctx, [&] {
          if (!r)
            return link_refused(ctx, form, r.err());
          ctx->log_fields["sessions_revoked"] = r->revoked;
          if (!form)
            return ctx->reply_json(200, {{"status", "cancelled"},
                                         {"restored", r->restored},
                                         {"sessions_revoked", r->revoked}});
          ctx->reply(http::page_response(
              200, "link_result",
              {{"ok", true},
               {"title", "Email change cancelled"},
               {"message",
                std::string(r->restored
                                ? "Your account uses this address again. "
                                : "Your address was not changed. ")
                    + "Devices signed in since the request were signed out. "
                      "If you did not ask for this, sign in and review your "
                      "passkeys and sessions."}}));
        });
      },
      failure(ctx));
}

} // namespace authsvc::http_routes
