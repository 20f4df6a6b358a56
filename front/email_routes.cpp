#include "front/email_routes.hpp"

#include "actors/email_flows.hpp"
#include "actors/email_start_flow.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/url.hpp"
#include "db/flows_store.hpp"
#include "front/browser_routes.hpp"
#include "front/error_table.hpp"
#include "front/lockout.hpp"
#include "front/pages.hpp"
#include "front/rate_limit.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

/// One attempt's metrics and audit event ("magic_link" or "otp").
void count_attempt(const context_ptr& ctx, const char* method, bool ok,
                   const std::string& user_id = {},
                   const std::string& email = {}) {
  email_flows_detail::count_attempt(ctx->svc(), requester_of(ctx), method, ok,
                                    user_id, email);
}

/// Answers a typed error of a flow (its api.md code and status).
void reply_flow_error(const context_ptr& ctx, const error& e) {
  ctx->reply_error(http::to_api_error(e));
}

bool wants_form(const context_ptr& ctx) {
  return http::has_media_type(ctx->req, "application/x-www-form-urlencoded");
}

/// A result page for the confirmation form (`error`: a stable code the page
/// carries as data-error, for tests and scripts).
void reply_page(const context_ptr& ctx, std::uint16_t status, bool ok,
                const std::string& title, const std::string& message,
                const std::string& error = {}) {
  nlohmann::json vars = {{"ok", ok}, {"title", title}, {"message", message}};
  if (!error.empty())
    vars["error"] = error;
  ctx->reply(http::page_response(status, "link_result", vars));
}

/// A refused link whose attempt is already counted: JSON callers get the
/// error, a form the result page.
void link_refused(const context_ptr& ctx, bool form, const error& e) {
  if (!form)
    return reply_flow_error(ctx, e);
  reply_page(ctx, 400, false, "This link can't be used",
             "The sign-in link is invalid, was already used, or has "
             "expired. Please request a new one.",
             "invalid_link");
}

/// A refused link: counts the attempt, then answers invalid_link.
void link_failure(const context_ptr& ctx, bool form) {
  count_attempt(ctx, "magic_link", false);
  link_refused(ctx, form, email_errc::invalid_link);
}

/// A flow's caf::error (the DB or session actor did not answer).
auto failure(const context_ptr& ctx) {
  return [ctx](caf::error& e) { ctx->reply_failure(e); };
}

/// What pressing a button on the confirmation page asks for.
enum class link_action {
  /// Sign in the browser (or API caller) that holds the link: the default.
  sign_in,
  /// Hand the session to the device that started the flow, after number
  /// matching.
  approve,
  /// "This was not me": cancel the flow.
  deny,
};

struct link_request {
  std::string token;
  link_action action = link_action::sign_in;
  int match = 0; ///< the picked number (approve only)
};

std::optional<link_action> parse_action(const std::string& s) {
  if (s.empty() || s == "sign_in")
    return link_action::sign_in;
  if (s == "approve")
    return link_action::approve;
  if (s == "deny")
    return link_action::deny;
  return std::nullopt;
}

/// Whether a form post may consume a link (login CSRF): only our own pages
/// may submit it. Refused posts get a 403 page, or the JSON error when the
/// caller asked for JSON only.
bool form_origin_ok(const context_ptr& ctx) {
  if (auth::form_post_same_origin(ctx->req.header("Origin"),
                                  ctx->req.header("Sec-Fetch-Site"),
                                  ctx->cfg().server.public_url))
    return true;
  count_attempt(ctx, "magic_link", false);
  ctx->log_fields["refused"] = "cross_site_request";
  auto accept = ctx->req.header("Accept");
  if (accept.find("application/json") != std::string_view::npos
      && accept.find("text/html") == std::string_view::npos) {
    ctx->reply_error("cross_site_request");
  } else {
    reply_page(ctx, 403, false, "This sign-in was blocked",
               "The sign-in form was sent from another website, so it was "
               "not used. Open the link from the email again and press the "
               "button there.",
               "cross_site_request");
  }
  return false;
}

/// After a plain confirmation: the session goes to the browser that holds
/// the link. JSON callers get the token response; a form gets a 303 with a
/// one-time exchange code in the fragment, to the flow's redirect_to when
/// the allow list still permits it, else to our own /login page (which
/// trades the code). Tokens never travel in URLs.
void reply_link_holder(const context_ptr& ctx, bool form,
                       const email_signed_in& in) {
  auto redirect = in.redirect_to;
  // The allow list may have shrunk since the flow started.
  if (!redirect.empty()
      && !auth::redirect_allowed(redirect, ctx->cfg().auth.redirect_allow_list))
    redirect.clear();
  if (redirect.empty())
    redirect = ctx->cfg().server.public_url + "/login";
  const auto& t = in.tokens;
  if (!form)
    return reply_tokens(ctx, t);
  if (!t.error.empty())
    return link_failure(ctx, form);
  issue_exchange_code(
      ctx->self, ctx->svc(), t.tokens.session_id, token_json(t.tokens).dump(),
      [ctx, redirect](exchange_code_outcome& o) {
        guarded(ctx, [&] {
          if (!o.internal_cause.empty())
            return ctx->reply_internal(o.internal_cause);
          http::response res;
          res.status = 303;
          res.set_header("Location", redirect + "#code=" + o.code);
          res.set_header("Cache-Control", "no-store");
          res.set_header("Content-Security-Policy", http::page_csp);
          ctx->reply(std::move(res));
        });
      },
      failure(ctx));
}

/// The default button: consume the link and sign in its holder.
void consume_and_sign_in(const context_ptr& ctx, bool form,
                         const std::string& token) {
  sign_in_by_link(
      ctx->self, ctx->svc(), requester_of(ctx), token,
      [ctx, form](result<email_signed_in>& r) {
        guarded(ctx, [&] {
          if (!r)
            return link_refused(ctx, form, r.err());
          reply_link_holder(ctx, form, *r);
        });
      },
      failure(ctx));
}

/// The hand-over: approved only when the picked number is the starter's.
void consume_and_approve(const context_ptr& ctx, bool form,
                         const std::string& token, int match) {
  approve_handover(
      ctx->self, ctx->svc(), requester_of(ctx), token, match,
      [ctx, form](result<done>& r) {
        guarded(ctx, [&] {
          if (!r && r.err().is(email_errc::handover_refused)) {
            if (!form)
              return reply_flow_error(ctx, r.err());
            return reply_page(
                ctx, 400, false, "The numbers did not match",
                "Nobody was signed in, and this link can no longer be used. "
                "If you started this sign-in yourself, start again; if you "
                "did not, you can ignore the email.",
                "handover_refused");
          }
          if (!r)
            return link_refused(ctx, form, r.err());
          if (!form)
            return ctx->reply_json(200, {{"status", "approved"}});
          reply_page(ctx, 200, true, "Sign-in approved",
                     "The device that asked is being signed in. You can close "
                     "this tab.");
        });
      },
      failure(ctx));
}

/// "This was not me": the flow is cancelled and the report audited.
void consume_and_deny(const context_ptr& ctx, bool form,
                      const std::string& token) {
  deny_link(
      ctx->self, ctx->svc(), requester_of(ctx), token,
      [ctx, form](result<done>& r) {
        guarded(ctx, [&] {
          if (!r)
            return link_refused(ctx, form, r.err());
          if (!form)
            return ctx->reply_json(200, {{"status", "cancelled"}});
          reply_page(ctx, 200, true, "Sign-in cancelled",
                     "Thank you. Nobody was signed in with this link, and it "
                     "can no longer be used. Your account is unchanged.");
        });
      },
      failure(ctx));
}

} // namespace

void email_start(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto email_in = errors.string(*body, "email", true, 320);
  auto redirect_to = errors.string(*body, "redirect_to", false, 2048);
  auto locale = errors.string(*body, "locale", false, 35);
  email_start_input in;
  for (auto& [field, problem] :
       check_email_start(ctx->cfg(), email_in, redirect_to, in.email))
    errors.add(field, problem);
  if (errors.reply_if_any(ctx))
    return;
  in.redirect_to = redirect_to;
  in.locale = locale;
  in.accept_language = std::string(ctx->req.header("Accept-Language"));
  in.ip = ctx->client_ip;
  in.user_agent = user_agent(ctx);
  in.request_id = ctx->request_id;
  // Sends per mailbox: the address is known only now. Plus-tag variants
  // share one budget.
  auto budget = auth::send_budget_key(in.email);
  with_identifier_limit(ctx, "email_send", budget, [ctx, in]() mutable {
    start_email_flow(
        ctx->self, ctx->svc(), in,
        [ctx](email_start_outcome& out) {
          if (!out.internal_cause.empty())
            return ctx->reply_internal(out.internal_cause);
          // Visible to operators only; the caller gets the same 202.
          if (!out.suppressed.empty())
            ctx->log_fields["suppressed"] = out.suppressed;
          auto res
              = http::json_response(202, {{"flow_id", out.flow_id},
                                          {"flow_secret", out.flow_secret},
                                          {"match_number", out.match_number},
                                          {"expires_in", out.expires_in}});
          res.set_header("Cache-Control", "no-store");
          ctx->reply(std::move(res));
        },
        [ctx](caf::error& e) { ctx->reply_failure(e); });
  });
}

namespace {

/// The requester's device as the confirmation page shows it.
std::string device_text(const std::string& user_agent) {
  auto shown = auth::display_user_agent(user_agent);
  return shown.empty() ? "unknown (no User-Agent sent)" : shown;
}

} // namespace

void email_link_page(const context_ptr& ctx) {
  auto form = http::parse_form(ctx->req.query());
  auto token = http::form_value(form, "token").value_or("");
  if (token.empty() || token.size() > 128)
    return ctx->reply(
        http::page_response(400, "confirm_link", {{"has_token", false}}));
  // Reads only (mail scanners prefetch links): who asked, from where, when,
  // so the person deciding can tell whether it was them.
  db_read(ctx,
          db::flows_store::pending_by_link(auth::token_hash(token),
                                           unix_now(ctx)),
          [ctx, token](db::rowset& rs) {
            auto flow = db::flows_store::decode_link_view(rs);
            if (!flow)
              return ctx->reply(http::page_response(400, "confirm_link",
                                                    {{"has_token", false}}));
            nlohmann::json vars = {{"has_token", true},
                                   {"token", token},
                                   {"ip", flow->ip},
                                   {"device", device_text(flow->user_agent)},
                                   {"time", utc_time(flow->created_at)}};
            if (auto c = auth::decode_match_choices(flow->match_choices)) {
              auto choices = nlohmann::json::array();
              for (auto n : *c)
                choices.push_back(std::to_string(n));
              vars["choices"] = choices;
              vars["handover"] = true;
            }
            ctx->reply(http::page_response(200, "confirm_link", vars));
          });
}

void email_link_consume(const context_ptr& ctx) {
  bool form = wants_form(ctx);
  link_request lr;
  if (form) {
    if (!form_origin_ok(ctx))
      return;
    auto fields = http::parse_form(ctx->req.body);
    lr.token = http::form_value(fields, "token").value_or("");
    auto action = parse_action(http::form_value(fields, "action").value_or(""));
    auto match = http::form_value(fields, "match").value_or("");
    if (!action
        || (*action == link_action::approve
            && (match.size() != 2
                || match.find_first_not_of("0123456789") != std::string::npos)))
      return link_failure(ctx, form);
    lr.action = *action;
    if (lr.action == link_action::approve)
      lr.match = std::stoi(match);
  } else {
    auto body = ctx->json_body();
    if (!body)
      return;
    http_routes::field_errors errors;
    auto t = errors.string(*body, "token", true, 128);
    auto a = errors.string(*body, "action", false, 16);
    std::optional<link_action> action = link_action::sign_in;
    if (a) {
      action = parse_action(*a);
      if (!action)
        errors.add("action", "must be sign_in, approve or deny");
    }
    if (action == link_action::approve) {
      auto m = body->find("match_number");
      if (m == body->end() || !m->is_number_integer())
        errors.add("match_number", "is required for approve (an integer)");
      else
        lr.match = m->get<int>();
    }
    if (errors.reply_if_any(ctx))
      return;
    lr.token = *t;
    lr.action = *action;
  }
  if (lr.token.empty() || lr.token.size() > 128)
    return link_failure(ctx, form);
  switch (lr.action) {
  case link_action::sign_in:
    return consume_and_sign_in(ctx, form, lr.token);
  case link_action::approve:
    return consume_and_approve(ctx, form, lr.token, lr.match);
  case link_action::deny:
    return consume_and_deny(ctx, form, lr.token);
  }
}

void email_verify_code(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto flow_id = errors.string(*body, "flow_id", true, 64);
  auto code = errors.string(*body, "code", true, 16);
  if (code
      && (code->size() != 6
          || code->find_first_not_of("0123456789") != std::string::npos))
    errors.add("code", "must be 6 digits");
  if (errors.reply_if_any(ctx))
    return;
  verify_email_code(
      ctx->self, ctx->svc(), requester_of(ctx), *flow_id, *code,
      [ctx](result<email_signed_in>& r) {
        guarded(ctx, [&] {
          if (!r)
            return reply_flow_error(ctx, r.err());
          reply_tokens(ctx, r->tokens);
        });
      },
      failure(ctx));
}

void email_exchange(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto flow_id = errors.string(*body, "flow_id", true, 64);
  auto secret = errors.string(*body, "flow_secret", true, 128);
  if (errors.reply_if_any(ctx))
    return;
  exchange_email_flow(
      ctx->self, ctx->svc(), requester_of(ctx), *flow_id, *secret,
      [ctx](result<email_exchanged>& r) {
        guarded(ctx, [&] {
          if (!r)
            return reply_flow_error(ctx, r.err());
          if (!r->pending)
            return reply_tokens(ctx, r->tokens);
          auto res = http::json_response(202, {{"status", "pending"}});
          res.set_header("Cache-Control", "no-store");
          ctx->reply(std::move(res));
        });
      },
      failure(ctx));
}

void code_exchange(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto code = errors.string(*body, "code", true, 128);
  if (errors.reply_if_any(ctx))
    return;
  redeem_exchange_code(
      ctx->self, ctx->svc(), requester_of(ctx), *code,
      [ctx](result<exchange_code_outcome>& r) {
        guarded(ctx, [&] {
          if (!r)
            return reply_flow_error(ctx, r.err());
          if (!r->internal_cause.empty())
            return ctx->reply_internal(r->internal_cause);
          auto payload = nlohmann::json::parse(r->payload);
          if (ctx->browser_sign_in)
            return reply_browser_signed_in(
                ctx, payload.value("session_id", std::string()));
          auto res = http::json_response(200, payload);
          res.set_header("Cache-Control", "no-store");
          ctx->reply(std::move(res));
        });
      },
      failure(ctx));
}

} // namespace authsvc::http_routes
