#include "http/email_routes.hpp"

#include "auth/crypto.hpp"
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
constexpr auto db_timeout = std::chrono::seconds(10);

/// Upserts the user of a flow's address and selects it (statement indexes
/// after `email_ref`'s statement). Sign-up happens here, when a flow for a
/// new address completes, never when it starts.
void append_user_statements(db::unit& u, const value& email,
                            const std::string& fail_code) {
  auto now = unix_now();
  u.statements.push_back(db::stmt(
    "INSERT INTO users(id, email, created_at, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(email) DO NOTHING",
    {value::text(auth::uuid_v4()), email, value::integer(now),
     value::integer(now)}));
  u.statements.push_back(db::stmt_one(
    "SELECT id, email, display_name, locale, created_at, disabled FROM users "
    "WHERE email = ? AND disabled = 0",
    {email}, fail_code));
}

user_info user_from(const db::rowset& rs) {
  user_info u;
  u.id = rs.at(0, "id").s;
  u.email = rs.at(0, "email").s;
  u.display_name = rs.at(0, "display_name").s;
  u.locale = rs.at(0, "locale").s;
  u.created_at = rs.at(0, "created_at").i;
  return u;
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

/// Opens a session for `user` and hands the result to `then`.
template <class F>
void open_session(const context_ptr& ctx, user_info user, const char* amr,
                  F then) {
  ctx->self
    ->request(ctx->svc().sessions, db_timeout,
              new_session{std::move(user), {amr}, ctx->client_ip, user_agent(ctx)})
    .then([ctx, then](token_result& r) mutable { guarded(ctx, [&] { then(r); }); },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

bool wants_form(const context_ptr& ctx) {
  return http::has_media_type(ctx->req, "application/x-www-form-urlencoded");
}

void link_failure(const context_ptr& ctx, bool form, const std::string& code) {
  count_attempt(ctx, "magic_link", false);
  if (!form)
    return ctx->reply_error(code == "service_unavailable" ? code : "invalid_link");
  ctx->reply(http::page_response(
    400, "link_result",
    {{"ok", false},
     {"title", "This link can't be used"},
     {"message", "The sign-in link is invalid, was already used, or has "
                 "expired. Please request a new one."}}));
}

} // namespace

/// email_start after the per-address rate limit passed.
static void email_start_checked(const context_ptr& ctx, const std::string& email,
                                const std::optional<std::string>& redirect_to,
                                const std::optional<std::string>& locale);

void email_start(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto email_in = errors.string(*body, "email", true, 320);
  auto redirect_to = errors.string(*body, "redirect_to", false, 2048);
  auto locale = errors.string(*body, "locale", false, 35);
  std::string email;
  if (email_in) {
    auto n = auth::normalise_email(*email_in);
    if (n)
      email = *n.address;
    else
      errors.add("email", std::string(auth::to_string(n.error)));
  }
  const auto& cfg = ctx->cfg();
  if (redirect_to && !redirect_to->empty()
      && !auth::redirect_allowed(*redirect_to, cfg.auth.redirect_allow_list))
    errors.add("redirect_to", "is not in the redirect allow list");
  if (errors.reply_if_any(ctx))
    return;
  // Sends per address: the address is known only now.
  with_identifier_limit(ctx, "email_send", email, [=] {
    email_start_checked(ctx, email, redirect_to, locale);
  });
}

static void email_start_checked(const context_ptr& ctx, const std::string& email,
                                const std::optional<std::string>& redirect_to,
                                const std::optional<std::string>& locale) {
  auto now = unix_now();
  // One read for everything the decision needs, then one write: the same
  // two round trips whether or not the address has an account, so the
  // answer's timing does not tell.
  auto facts = db::stmt(
    "SELECT (SELECT id FROM users WHERE email = ?1 AND disabled = 0) AS user_id,"
    " (SELECT locale FROM users WHERE email = ?1) AS user_locale,"
    " (SELECT COUNT(*) FROM email_flows WHERE email = ?1 AND mailed = 1"
    "  AND created_at > ?2) AS sent_last_hour,"
    " (SELECT COALESCE(MAX(created_at), 0) FROM email_flows WHERE email = ?1"
    "  AND mailed = 1) AS last_sent",
    {value::text(email), value::integer(now - 3600)});
  ctx->self->request(ctx->svc().db, db_timeout, atom::query_atom_v, facts)
    .then(
      [ctx, email, redirect_to, locale, now](db::rowset& rs) {
        guarded(ctx, [&] {
          const auto& cfg = ctx->cfg();
          bool known = !rs.at(0, "user_id").is_null();
          std::string suppressed;
          if (!known && !cfg.auth.allow_signup)
            suppressed = "signup_disabled";
          else if (rs.at(0, "sent_last_hour").i >= cfg.auth.email_hourly_cap)
            suppressed = "hourly_cap";
          else if (now - rs.at(0, "last_sent").i < cfg.auth.email_min_interval)
            suppressed = "min_interval";
          bool send = suppressed.empty();
          auto flow_id = auth::uuid_v4();
          auto flow_secret = auth::random_token(32);
          auto link_token = auth::random_token(32);
          auto code = auth::generate_otp_code(6);
          auto expires = now + cfg.auth.email_flow_ttl;
          auto chosen = mail::choose_locale(locale.value_or(""),
                                            rs.at(0, "user_locale").s,
                                            ctx->req.header("Accept-Language"),
                                            cfg.mail.default_locale);
          db::unit u;
          u.statements.push_back(db::stmt(
            "INSERT INTO email_flows(id, email, flow_secret_hash, link_hash, "
            "code_hash, redirect_to, locale, ip, user_agent, status, mailed, "
            "created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            {value::text(flow_id), value::text(email),
             value::text(auth::token_hash(flow_secret)),
             value::text(auth::token_hash(link_token)),
             value::text(auth::hash_otp_code(ctx->svc().keys->code_hmac, flow_id, code)),
             redirect_to && !redirect_to->empty() ? value::text(*redirect_to)
                                                  : value::null(),
             value::text(chosen), value::text(ctx->client_ip),
             value::text(user_agent(ctx)),
             value::text(send ? "pending" : "dead"), value::integer(send ? 1 : 0),
             value::integer(now), value::integer(expires)}));
          if (send) {
            auto job_id = auth::uuid_v4();
            nlohmann::json vars = {
              {"link", cfg.server.public_url + "/v1/auth/email/link?token=" + link_token},
              {"code", code},
              {"lifetime_minutes", std::to_string((cfg.auth.email_flow_ttl + 59) / 60)},
              {"ip", ctx->client_ip},
              {"device", user_agent(ctx).substr(0, 120)}};
            auto sealed = auth::secret_box::seal(ctx->svc().keys->payloads,
                                                 auth::to_bytes(vars.dump()), job_id);
            auto at = cfg.mail.from.rfind('@');
            auto domain = at == std::string::npos ? "localhost" : cfg.mail.from.substr(at + 1);
            u.statements.push_back(db::stmt(
              "INSERT INTO mail_jobs(id, message_id, to_email, template, locale, "
              "vars_enc, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
              {value::text(job_id), value::text("<" + job_id + "@" + domain + ">"),
               value::text(email), value::text("sign_in"), value::text(chosen),
               value::blob(auth::to_string(sealed)), value::integer(now),
               value::integer(now)}));
          }
          ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(u))
            .then(
              [ctx, send, suppressed, flow_id, flow_secret, expires, now, email](db::unit_result& r) {
                if (!r.ok)
                  return ctx->reply_internal("flow insert failed: " + r.fail_code);
                ctx->audit("email.sign_in_requested", send, {}, email,
                           {{"flow_id", flow_id}, {"suppressed", suppressed}});
                if (send) {
                  caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
                } else {
                  // Visible to operators only; the caller gets the same 202.
                  ctx->log_fields["suppressed"] = suppressed;
                  caf::anon_send(ctx->svc().metrics,
                                 metrics::inc("email_sends_suppressed_total", {suppressed}));
                }
                auto res = http::json_response(202, {{"flow_id", flow_id},
                                                     {"flow_secret", flow_secret},
                                                     {"expires_in", expires - now}});
                res.set_header("Cache-Control", "no-store");
                ctx->reply(std::move(res));
              },
              [ctx](caf::error& e) { ctx->reply_failure(e); });
        });
      },
      [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void email_link_page(const context_ptr& ctx) {
  auto form = http::parse_form(ctx->req.query());
  auto token = http::form_value(form, "token").value_or("");
  bool ok = !token.empty() && token.size() <= 128;
  ctx->reply(http::page_response(ok ? 200 : 400, "confirm_link",
                                 {{"has_token", ok}, {"token", token}}));
}

void email_link_consume(const context_ptr& ctx) {
  bool form = wants_form(ctx);
  std::string token;
  if (form) {
    token = http::form_value(http::parse_form(ctx->req.body), "token").value_or("");
  } else {
    auto body = ctx->json_body();
    if (!body)
      return;
    http_routes::field_errors errors;
    auto t = errors.string(*body, "token", true, 128);
    if (errors.reply_if_any(ctx))
      return;
    token = *t;
  }
  if (token.empty() || token.size() > 128)
    return link_failure(ctx, form, "invalid_link");
  auto now = unix_now();
  // One statement consumes the token: of two concurrent clicks, exactly one
  // sees its row.
  db::unit u;
  u.statements.push_back(db::stmt_one(
    "UPDATE email_flows SET status = 'approved', consumed_at = ?1 "
    "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
    "RETURNING id, email, redirect_to",
    {value::integer(now), value::text(auth::token_hash(token))}, "invalid_link"));
  append_user_statements(u, value::ref(0, "email"), "invalid_link");
  ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(u))
    .then(
      [ctx, form](db::unit_result& r) {
        if (!r.ok)
          return link_failure(ctx, form, r.fail_code);
        auto redirect = r.results[0].at(0, "redirect_to").s;
        auto user = user_from(r.results[2]);
        if (form && redirect.empty()) {
          // A browser that only confirmed: the device that asked collects
          // its session through /v1/auth/email/exchange.
          count_attempt(ctx, "magic_link", true, user.id, user.email);
          return ctx->reply(http::page_response(
            200, "link_result",
            {{"ok", true},
             {"title", "You're signed in"},
             {"message", "Sign-in confirmed. You can close this tab and "
                         "return to where you started."}}));
        }
        open_session(ctx, user, "magic_link", [ctx, form, redirect, user](token_result& t) {
          count_attempt(ctx, "magic_link", t.error.empty(), user.id, user.email);
          if (!form)
            return reply_tokens(ctx, t);
          if (!t.error.empty())
            return link_failure(ctx, form, t.error);
          // Redirect with a short-lived one-time code in the fragment; the
          // app trades it at /v1/auth/exchange (tokens never in URLs).
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
          ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(x))
            .then(
              [ctx, redirect, code](db::unit_result& r) {
                if (!r.ok)
                  return ctx->reply_internal("exchange insert failed");
                http::response res;
                res.status = 303;
                res.set_header("Location", redirect + "#code=" + code);
                res.set_header("Cache-Control", "no-store");
                res.set_header("Content-Security-Policy", http::page_csp);
                ctx->reply(std::move(res));
              },
              [ctx](caf::error& e) { ctx->reply_failure(e); });
        });
      },
      [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void email_verify_code(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  http_routes::field_errors errors;
  auto flow_id = errors.string(*body, "flow_id", true, 64);
  auto code = errors.string(*body, "code", true, 16);
  if (code && (code->size() != 6
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
    "(SELECT id FROM users WHERE users.email = email_flows.email) AS user_id, "
    + lockout::locked_until_sql(
      "(SELECT id FROM users WHERE users.email = email_flows.email)", "email_code")
    + " AS locked_until",
    {value::text(*flow_id), value::integer(now),
     value::integer(ctx->cfg().auth.code_max_attempts)},
    "flow_expired"));
  auto id = *flow_id;
  auto entered = *code;
  ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(attempt))
    .then(
      [ctx, id, entered, now](db::unit_result& r) {
        if (!r.ok) {
          count_attempt(ctx, "otp", false);
          return reply_db_failure(ctx, r, "flow_expired");
        }
        const auto& row = r.results[0];
        // A locked account answers exactly like a wrong code (lockout).
        bool locked = row.at(0, "locked_until").i > now;
        bool match = !locked
                     && auth::verify_otp_code(ctx->svc().keys->code_hmac, id, entered,
                                              row.at(0, "code_hash").s);
        if (!match) {
          count_attempt(ctx, "otp", false);
          auto refuse = [ctx, id, dead = row.at(0, "code_attempts").i
                                         >= ctx->cfg().auth.code_max_attempts] {
            if (!dead)
              return ctx->reply_error("invalid_code");
            db::unit kill;
            kill.statements.push_back(db::stmt(
              "UPDATE email_flows SET status = 'dead' WHERE id = ? AND status = 'pending'",
              {value::text(id)}));
            ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(kill))
              .then([ctx](db::unit_result&) { ctx->reply_error("invalid_code"); },
                    [ctx](caf::error& e) { ctx->reply_failure(e); });
          };
          if (locked)
            return refuse();
          return record_failure(ctx, row.at(0, "user_id").s, row.at(0, "email").s,
                                "email_code", refuse);
        }
        db::unit done;
        done.statements.push_back(db::stmt_one(
          "UPDATE email_flows SET status = 'collected', consumed_at = ? "
          "WHERE id = ? AND status = 'pending' RETURNING email",
          {value::integer(now), value::text(id)}, "flow_expired"));
        append_user_statements(done, value::ref(0, "email"), "invalid_code");
        done.statements.push_back(lockout::reset(value::ref(2, "id"), "email_code"));
        ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(done))
          .then(
            [ctx](db::unit_result& r) {
              if (!r.ok) {
                count_attempt(ctx, "otp", false);
                return reply_db_failure(ctx, r, "flow_expired");
              }
              auto user = user_from(r.results[2]);
              open_session(ctx, user, "otp",
                           [ctx, user](token_result& t) {
                             count_attempt(ctx, "otp", t.error.empty(), user.id, user.email);
                             reply_tokens(ctx, t);
                           });
            },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
      },
      [ctx](caf::error& e) { ctx->reply_failure(e); });
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
  ctx->self
    ->request(ctx->svc().db, db_timeout, atom::query_atom_v,
              db::stmt("SELECT status, flow_secret_hash, expires_at FROM "
                       "email_flows WHERE id = ?",
                       {value::text(id)}))
    .then(
      [ctx, id, secret_hash](db::rowset& rs) {
        auto now = unix_now();
        if (rs.empty()
            || !auth::constant_time_equal(std::string_view(rs.at(0, "flow_secret_hash").s),
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
        ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(u))
          .then(
            [ctx](db::unit_result& r) {
              if (!r.ok)
                return reply_db_failure(ctx, r, "flow_expired");
              open_session(ctx, user_from(r.results[2]), "magic_link",
                           [ctx](token_result& t) { reply_tokens(ctx, t); });
            },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
      },
      [ctx](caf::error& e) { ctx->reply_failure(e); });
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
    {value::text(hash), value::integer(unix_now())}, "invalid_exchange_code"));
  ctx->self->request(ctx->svc().db, db_timeout, atom::write_atom_v, std::move(u))
    .then(
      [ctx, hash](db::unit_result& r) {
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
      },
      [ctx](caf::error& e) { ctx->reply_failure(e); });
}

}  // namespace authsvc::http_routes
