#include "http/totp_routes.hpp"

#include "actors/totp_flow.hpp"
#include "auth/email_address.hpp"
#include "auth/recovery_codes.hpp"
#include "auth/totp.hpp"
#include "db/totp_store.hpp"
#include "http/error_table.hpp"
#include "http/lockout.hpp"
#include "http/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

namespace ts = db::totp_store;
namespace tf = totp_flow;
using tf::recovery_method;
using tf::totp_method;

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

/// Answers a typed TOTP error: internal ones are logged, TOTP that is not
/// enabled says so.
void reply_totp_error(const context_ptr& ctx, const error& e) {
  if (e.is(totp_errc::internal))
    return ctx->reply_internal(e.detail());
  auto out = http::to_api_error(e);
  if (e.is(totp_errc::not_enabled))
    out.message = "TOTP is not enabled.";
  ctx->reply_error(out);
}

/// The body's `code` (6 digits), or nullopt after replying 422.
std::optional<std::string> code_field(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return std::nullopt;
  field_errors errors;
  auto code = errors.string(*body, "code", true, 16);
  if (code && !tf::six_digits(*code))
    errors.add("code", "must be 6 digits");
  if (errors.reply_if_any(ctx))
    return std::nullopt;
  return code;
}

void reply_codes(const context_ptr& ctx,
                 const std::vector<std::string>& codes) {
  auto res = http::json_response(200, {{"recovery_codes", codes}});
  res.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(res));
}

/// The signed-in user's confirmed TOTP checked against `code` (with replay
/// protection and lockout), then `then(step)` with the matched step.
/// Answers 409 conflict when TOTP is not enabled and 400 invalid_code for a
/// wrong, replayed or locked attempt.
template <class F>
void with_current_code(const context_ptr& ctx, const std::string& code,
                       F then) {
  auto uid = ctx->auth.user_id;
  db_read(ctx, ts::current_of(uid, lockout_source(ctx)),
          [ctx, uid, code, then](db::rowset& rs) mutable {
            auto check
                = tf::check_code(*ctx->svc().keys, uid, ts::decode_current(rs),
                                 code, ctx->svc().clock->unix_seconds());
            auto email = ctx->auth.user.email;
            switch (check.result) {
              case tf::verdict::not_enabled:
                return reply_totp_error(ctx, totp_errc::not_enabled);
              case tf::verdict::locked:
                ctx->audit("totp.failed", false, uid, email,
                           {{"reason", "locked"}});
                return reply_totp_error(ctx, totp_errc::invalid_code);
              case tf::verdict::undecryptable:
                return ctx->reply_internal("totp secret undecryptable");
              case tf::verdict::wrong_code:
                ctx->audit("totp.failed", false, uid, email,
                           {{"reason", "wrong_code"}});
                return record_failure(ctx, uid, email, totp_method, [ctx] {
                  reply_totp_error(ctx, totp_errc::invalid_code);
                });
              case tf::verdict::ok:
                break;
            }
            then(check.step);
          });
}

} // namespace

void totp_enrol(const context_ptr& ctx) {
  // Bound to the bearer's own account: no email or user id is taken from
  // the request.
  auto plan = tf::plan_enrol(ctx->cfg(), *ctx->svc().keys, ctx->auth.user_id,
                             ctx->auth.user.email,
                             auth::generate_totp_secret(),
                             ctx->svc().clock->unix_seconds());
  if (!plan)
    return reply_totp_error(ctx, plan.err());
  auto b32 = plan->secret;
  auto uri = plan->otpauth_uri;
  auto svg = plan->qr_svg;
  db_write(ctx, std::move(plan->write),
           [ctx, b32, uri, svg](db::unit_result& r) {
             if (!r.ok)
               return reply_db_failure(ctx, r, "totp_already_enabled");
             ctx->audit("totp.enrolled", true);
             auto res = http::json_response(
                 200, {{"secret", b32}, {"otpauth_uri", uri}, {"qr_svg", svg}});
             res.set_header("Cache-Control", "no-store");
             ctx->reply(std::move(res));
           });
}

void totp_confirm(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  auto uid = ctx->auth.user_id;
  db_read(ctx, ts::pending_of(uid), [ctx, uid, code = *code](db::rowset& rs) {
    tf::notice_input notice{ctx->auth.user, ctx->client_ip, user_agent(ctx),
                            notice_locale(ctx, ctx->auth.user)};
    auto plan = tf::plan_confirm(ctx->svc(), uid, ts::decode_pending(rs), code,
                                 notice, auth::generate_recovery_codes(10),
                                 ctx->svc().clock->unix_seconds());
    if (!plan) {
      if (plan.err().is(totp_errc::invalid_code))
        ctx->audit("totp.failed", false, uid, ctx->auth.user.email,
                   {{"reason", "confirm_wrong_code"}});
      return reply_totp_error(ctx, plan.err());
    }
    auto codes = plan->recovery_codes;
    db_write(ctx, std::move(plan->write), [ctx, codes](db::unit_result& r) {
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
    db_write(ctx, tf::disable_unit(ctx->auth.user_id, step),
             [ctx](db::unit_result& r) {
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
    auto codes = auth::generate_recovery_codes(10);
    auto u = tf::regenerate_unit(*ctx->svc().keys, ctx->auth.user_id, step,
                                 lockout_source(ctx), codes,
                                 ctx->svc().clock->unix_seconds());
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
  if (six_digit && secret && !tf::six_digits(*secret))
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
    reply_totp_error(ctx, totp_errc::invalid_code);
  });
}

/// A wrong (or replayed) secret for a known account: counted for lockout.
void refuse_counted(const context_ptr& ctx, const std::string& method,
                    const user_info& user, const std::string& reason) {
  record_failure(ctx, user.id, user.email, method, [=] {
    count_attempt(ctx, method, false, user.id, user.email, reason);
    reply_totp_error(ctx, totp_errc::invalid_code);
  });
}

} // namespace

void totp_verify(const context_ptr& ctx) {
  auto fields = sign_in_fields(ctx, "code", true);
  if (!fields)
    return;
  auto [email, code] = *fields;
  auto source = lockout_source(ctx);
  db_read(ctx, ts::sign_in_facts_of(email, source),
          [ctx, email = email, code = code, source](db::rowset& rs) {
            auto now = ctx->svc().clock->unix_seconds();
            auto facts = ts::decode_sign_in_facts(rs);
            if (!facts.user)
              return refuse_after_no_op(ctx, totp_method, {}, email, "unknown");
            const auto& user = *facts.user;
            auto check = tf::check_code(*ctx->svc().keys, user.id, facts.totp,
                                        code, now);
            switch (check.result) {
              case tf::verdict::not_enabled:
                return refuse_after_no_op(ctx, totp_method, user.id, email,
                                          "not_enabled");
              case tf::verdict::locked:
                return refuse_after_no_op(ctx, totp_method, user.id, email,
                                          "locked");
              case tf::verdict::undecryptable:
                return ctx->reply_internal("totp secret undecryptable");
              case tf::verdict::wrong_code:
                return refuse_counted(ctx, totp_method, user, "wrong_code");
              case tf::verdict::ok:
                break;
            }
            db_write(ctx, tf::sign_in_unit(user.id, check.step, source, now),
                     [ctx, user](db::unit_result& r) {
                       if (!r.ok)
                         return refuse_counted(ctx, totp_method, user,
                                               "replayed");
                       open_session(ctx, user, "totp",
                                    [ctx, user](token_result& t) {
                                      count_attempt(ctx, totp_method,
                                                    t.error.empty(), user.id,
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
  auto hash = tf::recovery_hash(*ctx->svc().keys, code);
  auto source = lockout_source(ctx);
  // The read also says whether the code is live, so a wrong code costs
  // one write (the counted failure) like an unknown address (a no-op
  // commit), as in totp_verify; trying to burn it first would add a second.
  db_read(ctx, ts::recovery_facts_of(email, hash, source),
          [ctx, email = email, hash, source](db::rowset& rs) {
            auto now = ctx->svc().clock->unix_seconds();
            auto facts = ts::decode_recovery_facts(rs);
            switch (tf::check_recovery(facts, now)) {
              case tf::recovery_verdict::unknown:
                return refuse_after_no_op(ctx, recovery_method, {}, email,
                                          "unknown");
              case tf::recovery_verdict::locked:
                return refuse_after_no_op(ctx, recovery_method,
                                          facts.user->id, email, "locked");
              case tf::recovery_verdict::wrong_code:
                return refuse_counted(ctx, recovery_method, *facts.user,
                                      "wrong_code");
              case tf::recovery_verdict::ok:
                break;
            }
            auto user = *facts.user;
            db_write(ctx, tf::recovery_unit(user.id, hash, source, now),
                     [ctx, user](db::unit_result& r) {
                       if (!r.ok)
                         return refuse_counted(ctx, recovery_method, user,
                                               "wrong_code");
                       open_session(ctx, user, "recovery_code",
                                    [ctx, user](token_result& t) {
                                      count_attempt(ctx, recovery_method,
                                                    t.error.empty(), user.id,
                                                    user.email);
                                      reply_tokens(ctx, t);
                                    });
                     });
          });
}

} // namespace authsvc::http_routes
