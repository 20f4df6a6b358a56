#include "db/users_store.hpp"
#include "http/email_routes.hpp"

#include "actors/email_start_flow.hpp"
#include "auth/crypto.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/otp_code.hpp"
#include "auth/secret_box.hpp"
#include "auth/url.hpp"
#include "core/log.hpp"
#include "http/pages.hpp"
#include "http/lockout.hpp"
#include "http/rate_limit.hpp"
#include "http/route_helpers.hpp"
#include "mail/locale.hpp"

namespace authsvc::http_routes {

namespace {

using db::value;

/// Upserts the user of a flow's address and selects it (statement indexes
/// after `email_ref`'s statement). Sign-up happens here, when a flow for a
/// new address completes, never when it starts.
void append_user_statements(db::unit& u, const value& email,
                            const std::string& fail_code) {
  auto now = unix_now();
  u.statements.push_back(db::stmt("INSERT INTO users(id, email, created_at, "
                                  "updated_at) VALUES (?, ?, ?, ?) "
                                  "ON CONFLICT(email) DO NOTHING",
                                  {value::text(auth::uuid_v4()), email,
                                   value::integer(now), value::integer(now)}));
  u.statements.push_back(db::stmt_one(
      "SELECT id, email, display_name, locale, created_at, disabled FROM users "
      "WHERE email = ? AND disabled = 0",
      {email}, fail_code));
}

void count_attempt(const context_ptr& ctx, const char* method, bool ok,
                   const std::string& user_id = {},
                   const std::string& email = {}) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("auth_attempts_total",
                              {method, ok ? "success" : "failure"}));
  std::string m = method;
  ctx->audit(m == "otp" ? (ok ? "email.code_verified" : "email.code_failed")
                        : (ok ? "email.link_verified" : "email.link_failed"),
             ok, user_id, email);
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

void link_failure(const context_ptr& ctx, bool form, const std::string& code) {
  count_attempt(ctx, "magic_link", false);
  if (!form)
    return ctx->reply_error(code == "service_unavailable" ? code
                                                          : "invalid_link");
  reply_page(ctx, 400, false, "This link can't be used",
             "The sign-in link is invalid, was already used, or has "
             "expired. Please request a new one.",
             "invalid_link");
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
void sign_in_link_holder(const context_ptr& ctx, bool form,
                         const std::string& redirect_to,
                         const user_info& user) {
  auto redirect = redirect_to;
  // The allow list may have shrunk since the flow started.
  if (!redirect.empty()
      && !auth::redirect_allowed(redirect, ctx->cfg().auth.redirect_allow_list))
    redirect.clear();
  if (redirect.empty())
    redirect = ctx->cfg().server.public_url + "/login";
  open_session(
      ctx, user, "magic_link", [ctx, form, redirect, user](token_result& t) {
        count_attempt(ctx, "magic_link", t.error.empty(), user.id, user.email);
        if (!form)
          return reply_tokens(ctx, t);
        if (!t.error.empty())
          return link_failure(ctx, form, t.error);
        auto code = auth::random_token(32);
        auto now = unix_now();
        auto payload = token_json(t.tokens).dump();
        auto hash = auth::token_hash(code);
        auto sealed = auth::secret_box::seal(ctx->svc().keys->payloads,
                                             auth::to_bytes(payload), hash);
        db::unit x;
        x.statements.push_back(db::stmt(
            "INSERT INTO exchange_codes(code_hash, session_id, payload_enc, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            {value::text(hash), value::text(t.tokens.session_id),
             value::blob(auth::to_string(sealed)), value::integer(now),
             value::integer(now + ctx->cfg().auth.exchange_code_ttl)}));
        db_write(ctx, std::move(x), [ctx, redirect, code](db::unit_result& r) {
          if (!r.ok)
            return ctx->reply_internal("exchange insert failed");
          http::response res;
          res.status = 303;
          res.set_header("Location", redirect + "#code=" + code);
          res.set_header("Cache-Control", "no-store");
          res.set_header("Content-Security-Policy", http::page_csp);
          ctx->reply(std::move(res));
        });
      });
}

/// The default button: consume the link and sign in its holder. The flow
/// becomes `collected`, so the starter's exchange gets nothing.
void consume_and_sign_in(const context_ptr& ctx, bool form,
                         const std::string& token) {
  auto now = unix_now();
  // One statement consumes the token: of two concurrent clicks, exactly one
  // sees its row.
  db::unit u;
  u.statements.push_back(db::stmt_one(
      "UPDATE email_flows SET status = 'collected', consumed_at = ?1 "
      "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
      "RETURNING id, email, redirect_to",
      {value::integer(now), value::text(auth::token_hash(token))},
      "invalid_link"));
  append_user_statements(u, value::ref(0, "email"), "invalid_link");
  db_write(ctx, std::move(u), [ctx, form](db::unit_result& r) {
    if (!r.ok)
      return link_failure(ctx, form, r.fail_code);
    sign_in_link_holder(ctx, form, r.results[0].at(0, "redirect_to").s,
                        db::users_store::decode_user(r.results[2]));
  });
}

/// The hand-over: approved only when the picked number is the starter's.
/// One statement decides and consumes, so a wrong pick burns the flow (no
/// second guess) and two concurrent picks cannot both count.
void consume_and_approve(const context_ptr& ctx, bool form,
                         const std::string& token, int match) {
  auto now = unix_now();
  db::unit u;
  u.statements.push_back(db::stmt_one(
      "UPDATE email_flows SET consumed_at = ?1, status = CASE WHEN "
      "match_number = ?3 THEN 'approved' ELSE 'dead' END "
      "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
      "AND match_number IS NOT NULL RETURNING id, email, status",
      {value::integer(now), value::text(auth::token_hash(token)),
       value::integer(match)},
      "invalid_link"));
  db_write(ctx, std::move(u), [ctx, form](db::unit_result& r) {
    if (!r.ok)
      return link_failure(ctx, form, r.fail_code);
    const auto& row = r.results[0];
    auto email = row.at(0, "email").s;
    nlohmann::json meta = {{"flow_id", row.at(0, "id").s}};
    if (row.at(0, "status").s != "approved") {
      meta["reason"] = "wrong_number";
      ctx->audit("email.handover_refused", false, {}, email, meta);
      caf::anon_send(
          ctx->svc().metrics,
          metrics::inc("auth_attempts_total", {"magic_link", "failure"}));
      if (!form)
        return ctx->reply_error("handover_refused");
      return reply_page(
          ctx, 400, false, "The numbers did not match",
          "Nobody was signed in, and this link can no longer be used. If "
          "you started this sign-in yourself, start again; if you did not, "
          "you can ignore the email.",
          "handover_refused");
    }
    ctx->audit("email.handover_approved", true, {}, email, meta);
    if (!form)
      return ctx->reply_json(200, {{"status", "approved"}});
    reply_page(ctx, 200, true, "Sign-in approved",
               "The device that asked is being signed in. You can close "
               "this tab.");
  });
}

/// "This was not me": the flow is cancelled and the report audited.
void consume_and_deny(const context_ptr& ctx, bool form,
                      const std::string& token) {
  auto now = unix_now();
  db::unit u;
  u.statements.push_back(db::stmt_one(
      "UPDATE email_flows SET status = 'dead', consumed_at = ?1 "
      "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
      "RETURNING id, email, ip",
      {value::integer(now), value::text(auth::token_hash(token))},
      "invalid_link"));
  db_write(ctx, std::move(u), [ctx, form](db::unit_result& r) {
    if (!r.ok)
      return link_failure(ctx, form, r.fail_code);
    const auto& row = r.results[0];
    ctx->audit(
        "email.sign_in_reported", true, {}, row.at(0, "email").s,
        {{"flow_id", row.at(0, "id").s}, {"requester_ip", row.at(0, "ip").s}});
    if (!form)
      return ctx->reply_json(200, {{"status", "cancelled"}});
    reply_page(ctx, 200, true, "Sign-in cancelled",
               "Thank you. Nobody was signed in with this link, and it can "
               "no longer be used. Your account is unchanged.");
  });
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
        ctx->self, ctx->svc(), std::move(in),
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
          db::stmt("SELECT ip, user_agent, created_at, match_choices FROM "
                   "email_flows WHERE link_hash = ? AND status = 'pending' "
                   "AND expires_at > ?",
                   {value::text(auth::token_hash(token)),
                    value::integer(unix_now())}),
          [ctx, token](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply(http::page_response(400, "confirm_link",
                                                    {{"has_token", false}}));
            nlohmann::json vars
                = {{"has_token", true},
                   {"token", token},
                   {"ip", rs.at(0, "ip").s},
                   {"device", device_text(rs.at(0, "user_agent").s)},
                   {"time", utc_time(rs.at(0, "created_at").i)}};
            if (auto c
                = auth::decode_match_choices(rs.at(0, "match_choices").s)) {
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
      return link_failure(ctx, form, "invalid_link");
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
    return link_failure(ctx, form, "invalid_link");
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
  auto now = unix_now();
  // Count the attempt first (atomically), then compare: a flood of guesses
  // in parallel cannot exceed the limit.
  db::unit attempt;
  attempt.statements.push_back(db::stmt_one(
      "UPDATE email_flows SET code_attempts = code_attempts + 1 "
      "WHERE id = ?1 AND status = 'pending' AND expires_at > ?2 "
      "AND code_attempts < ?3 RETURNING email, code_hash, code_attempts, "
      "(SELECT id FROM users WHERE users.email = email_flows.email) AS "
      "user_id, "
          + lockout::locked_until_sql(
              "(SELECT id FROM users WHERE users.email = email_flows.email)",
              "email_code", "?4")
          + " AS locked_until",
      {value::text(*flow_id), value::integer(now),
       value::integer(ctx->cfg().auth.code_max_attempts),
       value::text(lockout_source(ctx))},
      "flow_expired"));
  auto id = *flow_id;
  auto entered = *code;
  db_write(
      ctx, std::move(attempt), [ctx, id, entered, now](db::unit_result& r) {
        if (!r.ok) {
          count_attempt(ctx, "otp", false);
          return reply_db_failure(ctx, r, "flow_expired");
        }
        const auto& row = r.results[0];
        // Locked for this account from this source: answers exactly like a
        // wrong code (lockout); other sources are not affected.
        bool locked = row.at(0, "locked_until").i > now;
        bool match
            = !locked
              && auth::verify_otp_code(ctx->svc().keys->code_hmac, id, entered,
                                       row.at(0, "code_hash").s);
        if (!match) {
          count_attempt(ctx, "otp", false);
          auto refuse = [ctx, id,
                         dead = row.at(0, "code_attempts").i
                                >= ctx->cfg().auth.code_max_attempts] {
            if (!dead)
              return ctx->reply_error("invalid_code");
            db::unit kill;
            kill.statements.push_back(
                db::stmt("UPDATE email_flows SET status = 'dead' WHERE id "
                         "= ? AND status = 'pending'",
                         {value::text(id)}));
            ctx->self
                ->request(ctx->svc().db, db_timeout, atom::write_atom_v,
                          std::move(kill))
                .then(
                    [ctx](db::unit_result&) {
                      ctx->reply_error("invalid_code");
                    },
                    [ctx](caf::error& e) { ctx->reply_failure(e); });
          };
          // Every refusal costs one more commit of one written page:
          // recording the failure of a known address, or the timing pad
          // for an unknown or locked one, so the timing does not tell.
          auto user_id = row.at(0, "user_id").s;
          if (locked || user_id.empty())
            return db_write(ctx, timing_pad_unit(),
                            [refuse](db::unit_result&) { refuse(); });
          return record_failure(ctx, user_id, row.at(0, "email").s,
                                "email_code", refuse);
        }
        db::unit done;
        done.statements.push_back(db::stmt_one(
            "UPDATE email_flows SET status = 'collected', consumed_at = ? "
            "WHERE id = ? AND status = 'pending' RETURNING email",
            {value::integer(now), value::text(id)}, "flow_expired"));
        append_user_statements(done, value::ref(0, "email"), "invalid_code");
        done.statements.push_back(lockout::reset(
            value::ref(2, "id"), "email_code", lockout_source(ctx)));
        ctx->self
            ->request(ctx->svc().db, db_timeout, atom::write_atom_v,
                      std::move(done))
            .then(
                [ctx](db::unit_result& r) {
                  if (!r.ok) {
                    count_attempt(ctx, "otp", false);
                    return reply_db_failure(ctx, r, "flow_expired");
                  }
                  auto user = db::users_store::decode_user(r.results[2]);
                  open_session(ctx, user, "otp", [ctx, user](token_result& t) {
                    count_attempt(ctx, "otp", t.error.empty(), user.id,
                                  user.email);
                    reply_tokens(ctx, t);
                  });
                },
                [ctx](caf::error& e) { ctx->reply_failure(e); });
      });
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
  auto id = *flow_id;
  auto secret_hash = auth::token_hash(*secret);
  db_read(ctx,
          db::stmt("SELECT status, flow_secret_hash, expires_at FROM "
                   "email_flows WHERE id = ?",
                   {value::text(id)}),
          [ctx, id, secret_hash](db::rowset& rs) {
            auto now = unix_now();
            if (rs.empty()
                || !auth::constant_time_equal(
                    std::string_view(rs.at(0, "flow_secret_hash").s),
                    std::string_view(secret_hash))
                || rs.at(0, "expires_at").i <= now)
              return ctx->reply_error("flow_expired");
            auto status = rs.at(0, "status").s;
            if (status == "pending") {
              auto res = http::json_response(202, {{"status", "pending"}});
              res.set_header("Cache-Control", "no-store");
              return ctx->reply(std::move(res));
            }
            if (status != "approved")
              return ctx->reply_error("flow_expired");
            db::unit u;
            u.statements.push_back(db::stmt_one(
                "UPDATE email_flows SET status = 'collected' WHERE id = ? AND "
                "status = 'approved' AND flow_secret_hash = ? RETURNING email",
                {value::text(id), value::text(secret_hash)}, "flow_expired"));
            append_user_statements(u, value::ref(0, "email"), "flow_expired");
            ctx->self
                ->request(ctx->svc().db, db_timeout, atom::write_atom_v,
                          std::move(u))
                .then(
                    [ctx](db::unit_result& r) {
                      if (!r.ok)
                        return reply_db_failure(ctx, r, "flow_expired");
                      open_session(
                          ctx, db::users_store::decode_user(r.results[2]), "magic_link",
                          [ctx](token_result& t) { reply_tokens(ctx, t); });
                    },
                    [ctx](caf::error& e) { ctx->reply_failure(e); });
          });
}

void code_exchange(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto code = errors.string(*body, "code", true, 128);
  if (errors.reply_if_any(ctx))
    return;
  auto hash = auth::token_hash(*code);
  db::unit u;
  u.statements.push_back(db::stmt_one(
      "DELETE FROM exchange_codes WHERE code_hash = ? AND expires_at > ? "
      "RETURNING payload_enc",
      {value::text(hash), value::integer(unix_now())},
      "invalid_exchange_code"));
  db_write(ctx, std::move(u), [ctx, hash](db::unit_result& r) {
    if (!r.ok)
      return reply_db_failure(ctx, r, "invalid_exchange_code");
    auto plain = auth::secret_box::open(
        ctx->svc().keys->payloads,
        auth::to_bytes(r.results[0].at(0, "payload_enc").s), hash);
    if (!plain)
      return ctx->reply_internal("exchange payload undecryptable");
    auto res = http::json_response(
        200, nlohmann::json::parse(auth::to_string(*plain)));
    res.set_header("Cache-Control", "no-store");
    ctx->reply(std::move(res));
  });
}

} // namespace authsvc::http_routes
