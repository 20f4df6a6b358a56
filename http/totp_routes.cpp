#include "db/users_store.hpp"
#include "http/totp_routes.hpp"

#include <ctime>

#include "auth/base32.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/qr_svg.hpp"
#include "auth/recovery_codes.hpp"
#include "auth/secret_box.hpp"
#include "auth/totp.hpp"
#include "http/lockout.hpp"
#include "actors/mail_job.hpp"
#include "http/route_helpers.hpp"
#include "mail/locale.hpp"

namespace authsvc::http_routes {

namespace {

using db::value;
constexpr const char* totp_method = "totp";
constexpr const char* recovery_method = "recovery_code";

/// Counts and audits one sign-in attempt by TOTP or recovery code.
void count_attempt(const context_ptr& ctx, const std::string& method, bool ok,
                   const std::string& user_id, const std::string& email,
                   const std::string& reason = {}) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("auth_attempts_total",
                              {method, ok ? "success" : "failure"}));
  bool totp = method == totp_method;
  auto type = totp ? (ok ? "totp.verified" : "totp.failed")
                   : (ok ? "recovery.used" : "recovery.failed");
  nlohmann::json meta;
  if (!reason.empty())
    meta = {{"reason", reason}};
  ctx->audit(type, ok, user_id, email, meta);
}

/// Six ASCII digits, else a 422 detail.
bool six_digits(const std::string& s) {
  return s.size() == 6
         && s.find_first_not_of("0123456789") == std::string::npos;
}

/// The body's `code` (6 digits), or nullopt after replying 422.
std::optional<std::string> code_field(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return std::nullopt;
  field_errors errors;
  auto code = errors.string(*body, "code", true, 16);
  if (code && !six_digits(*code))
    errors.add("code", "must be 6 digits");
  if (errors.reply_if_any(ctx))
    return std::nullopt;
  return code;
}

std::optional<auth::bytes> open_secret(const context_ptr& ctx,
                                       const std::string& user_id,
                                       const value& sealed) {
  return auth::secret_box::open(ctx->svc().keys->totp, auth::to_bytes(sealed.s),
                                user_id);
}

/// Fresh recovery codes: their hashes go into `u`, the codes to the user.
std::vector<std::string> append_recovery_codes(const context_ptr& ctx,
                                               db::unit& u,
                                               const std::string& user_id,
                                               std::int64_t now) {
  u.statements.push_back(db::stmt(
      "DELETE FROM recovery_codes WHERE user_id = ?", {value::text(user_id)}));
  auto codes = auth::generate_recovery_codes(10);
  for (const auto& c : codes)
    u.statements.push_back(
        db::stmt("INSERT INTO recovery_codes(code_hash, user_id, created_at) "
                 "VALUES (?, ?, ?)",
                 {value::text(auth::hash_recovery_code(
                      ctx->svc().keys->recovery_pepper,
                      auth::normalize_recovery_code(c))),
                  value::text(user_id), value::integer(now)}));
  return codes;
}

void reply_codes(const context_ptr& ctx,
                 const std::vector<std::string>& codes) {
  auto res = http::json_response(200, {{"recovery_codes", codes}});
  res.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(res));
}

/// Queues the `totp_enabled` notice in the same unit (the mailer is woken
/// after commit).
void append_totp_enabled_mail(const context_ptr& ctx, db::unit& u,
                              std::int64_t now) {
  const auto& user = ctx->auth.user;
  nlohmann::json vars = {{"display_name", user.display_name},
                         {"time", utc_time(now)},
                         {"ip", ctx->client_ip},
                         {"device", auth::display_user_agent(user_agent(ctx))}};
  u.statements.push_back(mail_job_insert(
      ctx->svc(),
      {user.email, "totp_enabled", notice_locale(ctx, user), std::move(vars)},
      now));
}

/// The signed-in user's confirmed TOTP checked against `code` (with replay
/// protection and lockout), then `then(step)` with the matched step.
/// Answers 409 conflict when TOTP is not enabled and 400 invalid_code for a
/// wrong, replayed or locked attempt.
template <class F>
void with_current_code(const context_ptr& ctx, const std::string& code,
                       F then) {
  auto uid = ctx->auth.user_id;
  db_read(
      ctx,
      db::stmt("SELECT secret_enc, confirmed_at, last_used_step, "
                   + lockout::locked_until_sql("?1", totp_method, "?2")
                   + " AS locked_until FROM totp WHERE user_id = ?1",
               {value::text(uid), value::text(lockout_source(ctx))}),
      [ctx, uid, code, then](db::rowset& rs) mutable {
        auto now = unix_now();
        if (rs.empty() || rs.at(0, "confirmed_at").is_null())
          return ctx->reply_error("conflict", "TOTP is not enabled.");
        auto email = ctx->auth.user.email;
        if (rs.at(0, "locked_until").i > now) {
          ctx->audit("totp.failed", false, uid, email, {{"reason", "locked"}});
          return ctx->reply_error("invalid_code");
        }
        auto secret = open_secret(ctx, uid, rs.at(0, "secret_enc"));
        if (!secret)
          return ctx->reply_internal("totp secret undecryptable");
        auto last = static_cast<std::uint64_t>(rs.at(0, "last_used_step").i);
        auto step = auth::verify_totp(*secret, code, now, 1, last);
        if (!step) {
          ctx->audit("totp.failed", false, uid, email,
                     {{"reason", "wrong_code"}});
          return record_failure(ctx, uid, email, totp_method,
                                [ctx] { ctx->reply_error("invalid_code"); });
        }
        then(static_cast<std::int64_t>(*step));
      });
}

} // namespace

void totp_enrol(const context_ptr& ctx) {
  const auto& cfg = ctx->cfg();
  // Bound to the bearer's own account: no email or user id is taken from
  // the request.
  auto uid = ctx->auth.user_id;
  auto secret = auth::generate_totp_secret();
  auto b32 = auth::base32_encode(secret);
  auto uri = auth::otpauth_uri(cfg.totp.issuer, ctx->auth.user.email, b32);
  auto svg = auth::qr_svg(uri);
  if (!svg)
    return ctx->reply_internal("qr encoding failed");
  auto sealed = auth::secret_box::seal(ctx->svc().keys->totp, secret, uid);
  auto now = unix_now();
  db::unit u;
  // A pending secret is replaced; a confirmed one stays (no row changes).
  u.statements.push_back(db::stmt_one(
      "INSERT INTO totp(user_id, secret_enc, confirmed_at, last_used_step, "
      "created_at) VALUES (?1, ?2, NULL, 0, ?3) ON CONFLICT(user_id) DO UPDATE "
      "SET secret_enc = excluded.secret_enc, created_at = excluded.created_at, "
      "last_used_step = 0 WHERE totp.confirmed_at IS NULL",
      {value::text(uid), value::blob(auth::to_string(sealed)),
       value::integer(now)},
      "totp_already_enabled"));
  db_write(ctx, std::move(u), [ctx, b32, uri, svg](db::unit_result& r) {
    if (!r.ok)
      return reply_db_failure(ctx, r, "totp_already_enabled");
    ctx->audit("totp.enrolled", true);
    auto res = http::json_response(
        200, {{"secret", b32}, {"otpauth_uri", uri}, {"qr_svg", *svg}});
    res.set_header("Cache-Control", "no-store");
    ctx->reply(std::move(res));
  });
}

void totp_confirm(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  auto uid = ctx->auth.user_id;
  db_read(
      ctx,
      db::stmt("SELECT secret_enc, confirmed_at FROM totp WHERE user_id = ?",
               {value::text(uid)}),
      [ctx, uid, code = *code](db::rowset& rs) {
        if (rs.empty() || !rs.at(0, "confirmed_at").is_null())
          return ctx->reply_error("totp_not_pending");
        auto sealed = rs.at(0, "secret_enc");
        auto secret = open_secret(ctx, uid, sealed);
        if (!secret)
          return ctx->reply_internal("totp secret undecryptable");
        auto now = unix_now();
        auto step = auth::verify_totp(*secret, code, now, 1);
        if (!step) {
          ctx->audit("totp.failed", false, uid, ctx->auth.user.email,
                     {{"reason", "confirm_wrong_code"}});
          return ctx->reply_error("invalid_code");
        }
        db::unit u;
        // Only the secret this user saw: a concurrent re-enrolment wins.
        u.statements.push_back(db::stmt_one(
            "UPDATE totp SET confirmed_at = ?1, last_used_step = ?2 "
            "WHERE user_id = ?3 AND confirmed_at IS NULL AND secret_enc = ?4",
            {value::integer(now),
             value::integer(static_cast<std::int64_t>(*step)), value::text(uid),
             sealed},
            "totp_not_pending"));
        u.statements.push_back(
            lockout::reset_all_sources(value::text(uid), totp_method));
        auto codes = append_recovery_codes(ctx, u, uid, now);
        append_totp_enabled_mail(ctx, u, now);
        db_write(ctx, std::move(u), [ctx, codes](db::unit_result& r) {
          if (!r.ok)
            return reply_db_failure(ctx, r, "totp_not_pending");
          caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
          ctx->audit("totp.confirmed", true);
          reply_codes(ctx, codes);
        });
      });
}

void totp_disable(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  with_current_code(ctx, *code, [ctx](std::int64_t step) {
    auto uid = ctx->auth.user_id;
    db::unit u;
    // The same code cannot be used twice (it moved last_used_step or not).
    u.statements.push_back(db::stmt_one(
        "DELETE FROM totp WHERE user_id = ? AND confirmed_at IS NOT NULL "
        "AND last_used_step < ?",
        {value::text(uid), value::integer(step)}, "invalid_code"));
    u.statements.push_back(db::stmt(
        "DELETE FROM recovery_codes WHERE user_id = ?", {value::text(uid)}));
    u.statements.push_back(
        lockout::reset_all_sources(value::text(uid), totp_method));
    u.statements.push_back(
        lockout::reset_all_sources(value::text(uid), recovery_method));
    db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
      if (!r.ok)
        return reply_db_failure(ctx, r, "invalid_code");
      ctx->audit("totp.disabled", true);
      no_content(ctx);
    });
  });
}

void totp_recovery_codes(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  with_current_code(ctx, *code, [ctx](std::int64_t step) {
    auto uid = ctx->auth.user_id;
    auto now = unix_now();
    db::unit u;
    u.statements.push_back(
        db::stmt_one("UPDATE totp SET last_used_step = ?2 WHERE user_id = ?1 "
                     "AND confirmed_at IS NOT NULL AND last_used_step < ?2",
                     {value::text(uid), value::integer(step)}, "invalid_code"));
    u.statements.push_back(
        lockout::reset(value::text(uid), totp_method, lockout_source(ctx)));
    auto codes = append_recovery_codes(ctx, u, uid, now);
    db_write(ctx, std::move(u), [ctx, codes](db::unit_result& r) {
      if (!r.ok)
        return reply_db_failure(ctx, r, "invalid_code");
      ctx->audit("recovery.regenerated", true);
      reply_codes(ctx, codes);
    });
  });
}

namespace {

/// Email + secret sign-in bodies: the normalised address and the secret
/// field, or nullopt after replying.
std::optional<std::pair<std::string, std::string>>
sign_in_fields(const context_ptr& ctx, const char* secret_field,
               bool six_digit) {
  auto body = ctx->json_body();
  if (!body)
    return std::nullopt;
  field_errors errors;
  auto email_in = errors.string(*body, "email", true, 320);
  auto secret = errors.string(*body, secret_field, true, 64);
  std::string email;
  if (email_in) {
    auto n = auth::normalise_email(*email_in);
    if (n)
      email = *n.address;
    else
      errors.add("email", std::string(auth::to_string(n.error)));
  }
  if (six_digit && secret && !six_digits(*secret))
    errors.add(secret_field, "must be 6 digits");
  if (secret && secret->empty())
    errors.add(secret_field, "must not be empty");
  if (errors.reply_if_any(ctx))
    return std::nullopt;
  return std::make_pair(email, *secret);
}

/// The one refusal of both sign-in routes, after the timing pad's commit so
/// that it takes as long as a counted failure.
void refuse_after_no_op(const context_ptr& ctx, const std::string& method,
                        const std::string& user_id, const std::string& email,
                        const std::string& reason) {
  db_write(ctx, timing_pad_unit(), [=](db::unit_result&) {
    count_attempt(ctx, method, false, user_id, email, reason);
    ctx->reply_error("invalid_code");
  });
}

/// A wrong (or replayed) secret for a known account: counted for lockout.
void refuse_counted(const context_ptr& ctx, const std::string& method,
                    const user_info& user, const std::string& reason) {
  record_failure(ctx, user.id, user.email, method, [=] {
    count_attempt(ctx, method, false, user.id, user.email, reason);
    ctx->reply_error("invalid_code");
  });
}

} // namespace

void totp_verify(const context_ptr& ctx) {
  auto fields = sign_in_fields(ctx, "code", true);
  if (!fields)
    return;
  auto [email, code] = *fields;
  db_read(
      ctx,
      db::stmt("SELECT u.id, u.email, u.display_name, u.locale, u.created_at, "
               "t.secret_enc, t.confirmed_at, t.last_used_step, "
                   + lockout::locked_until_sql("u.id", totp_method, "?2")
                   + " AS locked_until FROM users u LEFT JOIN totp t ON "
                     "t.user_id = u.id "
                     "WHERE u.email = ?1 AND u.disabled = 0",
               {value::text(email), value::text(lockout_source(ctx))}),
      [ctx, email = email, code = code](db::rowset& rs) {
        auto now = unix_now();
        if (rs.empty() || rs.at(0, "confirmed_at").is_null())
          return refuse_after_no_op(ctx, totp_method, rs.at(0, "id").s, email,
                                    rs.empty() ? "unknown" : "not_enabled");
        auto user = db::users_store::decode_user(rs);
        if (rs.at(0, "locked_until").i > now)
          return refuse_after_no_op(ctx, totp_method, user.id, email, "locked");
        auto secret = open_secret(ctx, user.id, rs.at(0, "secret_enc"));
        if (!secret)
          return ctx->reply_internal("totp secret undecryptable");
        auto last = static_cast<std::uint64_t>(rs.at(0, "last_used_step").i);
        auto step = auth::verify_totp(*secret, code, now, 1, last);
        if (!step)
          return refuse_counted(ctx, totp_method, user, "wrong_code");
        auto s = static_cast<std::int64_t>(*step);
        db::unit u;
        auto source = lockout_source(ctx);
        // Of two concurrent uses of one code exactly one moves the step; a
        // lock of this source that landed since the read also refuses.
        u.statements.push_back(db::stmt_one(
            "UPDATE totp SET last_used_step = ?1 WHERE user_id = ?2 "
            "AND confirmed_at IS NOT NULL AND last_used_step < ?1 AND NOT "
            "EXISTS "
            "(SELECT 1 FROM failed_attempts WHERE user_id = ?2 AND method = "
            "'totp' AND source = ?4 "
            "AND locked_until > ?3)",
            {value::integer(s), value::text(user.id), value::integer(now),
             value::text(source)},
            "invalid_code"));
        u.statements.push_back(
            lockout::reset(value::text(user.id), totp_method, source));
        db_write(ctx, std::move(u), [ctx, user](db::unit_result& r) {
          if (!r.ok)
            return refuse_counted(ctx, totp_method, user, "replayed");
          open_session(ctx, user, "totp", [ctx, user](token_result& t) {
            count_attempt(ctx, totp_method, t.error.empty(), user.id,
                          user.email);
            reply_tokens(ctx, t);
          });
        });
      });
}

void recovery_sign_in(const context_ptr& ctx) {
  auto fields = sign_in_fields(ctx, "recovery_code", false);
  if (!fields)
    return;
  auto [email, code] = *fields;
  auto normal = auth::normalize_recovery_code(code);
  auto hash
      = auth::hash_recovery_code(ctx->svc().keys->recovery_pepper, normal);
  // The read also says whether the code is live, so a wrong code costs
  // one write (the counted failure) like an unknown address (a no-op
  // commit), as in totp_verify; trying to burn it first would add a second.
  db_read(
      ctx,
      db::stmt("SELECT u.id, u.email, u.display_name, u.locale, u.created_at, "
                   + lockout::locked_until_sql("u.id", recovery_method, "?3")
                   + " AS locked_until, EXISTS (SELECT 1 FROM recovery_codes "
                     "WHERE code_hash = ?2 AND user_id = u.id AND used_at IS "
                     "NULL) AS code_live FROM users u WHERE u.email = ?1 AND "
                     "u.disabled = 0",
               {value::text(email), value::text(hash),
                value::text(lockout_source(ctx))}),
      [ctx, email = email, hash](db::rowset& rs) {
        auto now = unix_now();
        if (rs.empty())
          return refuse_after_no_op(ctx, recovery_method, {}, email, "unknown");
        auto user = db::users_store::decode_user(rs);
        if (rs.at(0, "locked_until").i > now)
          return refuse_after_no_op(ctx, recovery_method, user.id, email,
                                    "locked");
        if (rs.at(0, "code_live").i == 0)
          return refuse_counted(ctx, recovery_method, user, "wrong_code");
        db::unit u;
        // One statement burns the code: of two concurrent uses one wins.
        u.statements.push_back(db::stmt_one(
            "UPDATE recovery_codes SET used_at = ?1 WHERE code_hash = ?2 "
            "AND user_id = ?3 AND used_at IS NULL",
            {value::integer(now), value::text(hash), value::text(user.id)},
            "invalid_code"));
        u.statements.push_back(lockout::reset(
            value::text(user.id), recovery_method, lockout_source(ctx)));
        db_write(ctx, std::move(u), [ctx, user](db::unit_result& r) {
          if (!r.ok)
            return refuse_counted(ctx, recovery_method, user, "wrong_code");
          open_session(ctx, user, "recovery_code",
                       [ctx, user](token_result& t) {
                         count_attempt(ctx, recovery_method, t.error.empty(),
                                       user.id, user.email);
                         reply_tokens(ctx, t);
                       });
        });
      });
}

} // namespace authsvc::http_routes
