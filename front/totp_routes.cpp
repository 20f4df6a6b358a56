#include "front/totp_routes.hpp"

#include "actors/totp_flow.hpp"
#include "auth/email_address.hpp"
#include "front/error_table.hpp"
#include "front/lockout.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

namespace tf = totp_flow;

/// What the flows need of this request: its audit trail, its lockout
/// source, its session request and the timing pad.
tf::request_hooks hooks_of(const context_ptr& ctx) {
  tf::request_hooks h;
  h.audit = [ctx](std::string type, bool ok, const std::string& user_id,
                  std::string email, const nlohmann::json& meta) {
    ctx->audit(std::move(type), ok, user_id, std::move(email), meta);
  };
  h.record_failure
      = [ctx](const std::string& user_id, const std::string& email,
              const std::string& method, const std::function<void()>& then) {
          record_failure(ctx, user_id, email, method, then);
        };
  h.session_request = [ctx](const user_info& user, const char* amr) {
    return sign_in_request(ctx, user, amr);
  };
  h.timing_pad = timing_pad_unit(ctx);
  h.source = lockout_source(ctx);
  return h;
}

/// Answers a flow's outcome: `ok(value)` for its value; a typed error
/// (internal ones logged, TOTP that is off says so) or a failed unit
/// (answered with its fail code, else `fallback`) otherwise.
template <class T, class Ok>
void answer(const context_ptr& ctx, tf::outcome<T>& o, const char* fallback,
            Ok ok) {
  guarded(ctx, [&] {
    if (auto* r = std::get_if<db::unit_result>(&o))
      return reply_db_failure(ctx, *r, fallback);
    if (auto* e = std::get_if<error>(&o)) {
      if (e->is(totp_errc::internal))
        return ctx->reply_internal(e->detail());
      auto out = http::to_api_error(*e);
      if (e->is(totp_errc::not_enabled))
        out.message = "TOTP is not enabled.";
      return ctx->reply_error(out);
    }
    ok(std::get<T>(o));
  });
}

auto on_failure(const context_ptr& ctx) {
  return [ctx](caf::error& e) { ctx->reply_failure(e); };
}

/// The body's `code` (6 digits), or nullopt after replying 422.
std::optional<std::string> code_field(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return std::nullopt;
  field_errors errors;
  auto code = errors.six_digit_code(*body, "code");
  if (errors.reply_if_any(ctx))
    return std::nullopt;
  return code;
}

void reply_codes(const context_ptr& ctx,
                 const std::vector<std::string>& codes) {
  reply_no_store(ctx, 200, {{"recovery_codes", codes}});
}

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

/// Answers a sign-in flow with its tokens.
auto reply_sign_in(const context_ptr& ctx) {
  return [ctx](tf::outcome<token_result>& o) {
    answer(ctx, o, "invalid_code",
           [&](token_result& t) { reply_tokens(ctx, t); });
  };
}

} // namespace

void totp_enrol(const context_ptr& ctx) {
  // Bound to the bearer's own account: no email or user id is taken from
  // the request.
  tf::run_enrol(
      ctx->self, ctx->svc(), ctx->auth.user_id, ctx->auth.user.email,
      hooks_of(ctx),
      [ctx](tf::outcome<tf::enrolment_reply>& o) {
        answer(ctx, o, "totp_already_enabled", [&](tf::enrolment_reply& e) {
          auto res = http::json_response(200, {{"secret", e.secret},
                                               {"otpauth_uri", e.otpauth_uri},
                                               {"qr_svg", e.qr_svg}});
          res.set_header("Cache-Control", "no-store");
          ctx->reply(std::move(res));
        });
      },
      on_failure(ctx));
}

void totp_confirm(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  tf::notice_input notice{ctx->auth.user, ctx->client_ip, user_agent(ctx),
                          notice_locale(ctx, ctx->auth.user)};
  tf::run_confirm(
      ctx->self, ctx->svc(), ctx->auth.user_id, *code, notice, hooks_of(ctx),
      [ctx](tf::outcome<std::vector<std::string>>& o) {
        answer(ctx, o, "totp_not_pending",
               [&](std::vector<std::string>& codes) { reply_codes(ctx, codes); });
      },
      on_failure(ctx));
}

void totp_disable(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  tf::run_disable(
      ctx->self, ctx->svc(), ctx->auth.user_id, ctx->auth.user.email, *code,
      hooks_of(ctx),
      [ctx](tf::outcome<done>& o) {
        answer(ctx, o, "invalid_code", [&](done&) { no_content(ctx); });
      },
      on_failure(ctx));
}

void totp_recovery_codes(const context_ptr& ctx) {
  auto code = code_field(ctx);
  if (!code)
    return;
  tf::run_regenerate(
      ctx->self, ctx->svc(), ctx->auth.user_id, ctx->auth.user.email, *code,
      hooks_of(ctx),
      [ctx](tf::outcome<std::vector<std::string>>& o) {
        answer(ctx, o, "invalid_code",
               [&](std::vector<std::string>& codes) { reply_codes(ctx, codes); });
      },
      on_failure(ctx));
}

void totp_verify(const context_ptr& ctx) {
  auto fields = sign_in_fields(ctx, "code", true);
  if (!fields)
    return;
  tf::run_verify(ctx->self, ctx->svc(), fields->first, fields->second,
                 hooks_of(ctx), reply_sign_in(ctx), on_failure(ctx));
}

void recovery_sign_in(const context_ptr& ctx) {
  auto fields = sign_in_fields(ctx, "recovery_code", false);
  if (!fields)
    return;
  tf::run_recovery(ctx->self, ctx->svc(), fields->first, fields->second,
                   hooks_of(ctx), reply_sign_in(ctx), on_failure(ctx));
}

} // namespace authsvc::http_routes
