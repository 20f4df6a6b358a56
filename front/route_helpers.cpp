#include "front/route_helpers.hpp"

#include "actors/safe_request.hpp"
#include "front/browser_routes.hpp"

#include <chrono>
#include <ctime>

#include "actors/mail_job.hpp"
#include "core/utc_time.hpp"
#include "auth/cross_device.hpp"
#include "db/lockout_store.hpp"
#include "front/rate_limit.hpp"
#include "mail/locale.hpp"
#include "mail/utf8.hpp"

namespace authsvc::http_routes {

nlohmann::json user_json(const user_info& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"display_name", u.display_name.empty()
                               ? nlohmann::json(nullptr)
                               : nlohmann::json(u.display_name)},
          {"locale", u.locale.empty() ? nlohmann::json(nullptr)
                                      : nlohmann::json(u.locale)},
          {"created_at", u.created_at}};
}

nlohmann::json token_json(const token_response& t) {
  return {{"access_token", t.access_token},
          {"token_type", "Bearer"},
          {"expires_in", t.expires_in},
          {"refresh_token", t.refresh_token},
          {"refresh_expires_in", t.refresh_expires_in},
          {"session_id", t.session_id},
          {"user", user_json(t.user)}};
}

void reply_tokens(const context_ptr& ctx, const token_result& r) {
  if (!r.error.empty())
    return ctx->reply_error(r.error);
  // A hosted-page sign-in (issue 16): the cookie, never the tokens.
  if (ctx->browser_sign_in)
    return reply_browser_signed_in(ctx, r.tokens.session_id);
  auto res = http::json_response(200, token_json(r.tokens));
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
  ctx->reply(std::move(res));
}

std::optional<std::string> field_errors::string(const nlohmann::json& body,
                                                const std::string& name,
                                                bool required,
                                                std::size_t max) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required)
      details_[name] = "is required";
    return std::nullopt;
  }
  if (!it->is_string()) {
    details_[name] = "must be a string";
    return std::nullopt;
  }
  auto s = it->get<std::string>();
  if (s.size() > max) {
    details_[name] = "must be at most " + std::to_string(max) + " characters";
    return std::nullopt;
  }
  return s;
}

std::optional<std::string>
field_errors::six_digit_code(const nlohmann::json& body,
                             const std::string& name) {
  auto code = string(body, name, true, 16);
  if (code
      && (code->size() != 6
          || code->find_first_not_of("0123456789") != std::string::npos)) {
    details_[name] = "must be 6 digits";
    return std::nullopt;
  }
  return code;
}

void reply_no_store(const context_ptr& ctx, std::uint16_t status,
                    const nlohmann::json& body) {
  auto res = http::json_response(status, body);
  res.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(res));
}

bool field_errors::reply_if_any(const context_ptr& ctx) {
  if (details_.empty())
    return false;
  ctx->reply_error("validation_failed", {}, details_);
  return true;
}

revocation make_revocation(const context_ptr& ctx, std::string session_id,
                           std::string user_id, std::string except_session,
                           std::string reason) {
  revocation rv;
  rv.session_id = std::move(session_id);
  rv.user_id = std::move(user_id);
  rv.except_session = std::move(except_session);
  rv.reason = std::move(reason);
  rv.ip = ctx->client_ip;
  rv.user_agent = user_agent(ctx);
  rv.request_id = ctx->request_id;
  rv.actor = ctx->actor;
  return rv;
}

std::string user_agent(const context_ptr& ctx) {
  return stored_user_agent(ctx->req.header("User-Agent"));
}

std::string stored_user_agent(std::string_view header) {
  constexpr std::size_t max_bytes = 512;
  constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD
  std::string out;
  std::size_t i = 0;
  while (i < header.size()) {
    auto n = mail::utf8_sequence_length(static_cast<unsigned char>(header[i]));
    auto seq = header.substr(i, n);
    bool ok = seq.size() == n && mail::is_valid_utf8(seq);
    auto add = ok ? seq : replacement;
    if (out.size() + add.size() > max_bytes)
      break;
    out.append(add);
    i += ok ? n : 1;
  }
  return out;
}

requester requester_of(const context_ptr& ctx) {
  requester who;
  who.ip = ctx->client_ip;
  who.user_agent = user_agent(ctx);
  who.request_id = ctx->request_id;
  who.actor = ctx->actor;
  who.user_id = ctx->auth.user_id;
  who.source = client_rate_key(ctx);
  auto authz = ctx->req.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (authz.size() > bearer.size() && authz.size() <= 8192
      && http::iequals(authz.substr(0, bearer.size()), bearer))
    who.reauth_token = std::string(authz.substr(bearer.size()));
  std::weak_ptr<request_context> weak = ctx;
  who.note = [weak](const std::string& key, const std::string& value) {
    if (auto c = weak.lock())
      c->log_fields[key] = value;
  };
  return who;
}

new_session sign_in_request(const context_ptr& ctx, user_info user,
                            const char* amr) {
  return authsvc::sign_in_request(requester_of(ctx), std::move(user), amr);
}

db::unit timing_pad_unit(const context_ptr& ctx) {
  return db::lockout_store::timing_pad(unix_now(ctx));
}

std::int64_t unix_now(const context_ptr& ctx) {
  return ctx->svc().clock->unix_seconds();
}

void reply_db_failure(const context_ptr& ctx, const db::unit_result& r,
                      const std::string& fallback_code) {
  if (r.fail_code == "constraint" || r.fail_code == "precondition") {
    ctx->log_fields["db_fail"] = r.fail_code;
    return ctx->reply_error(fallback_code);
  }
  ctx->reply_error(r.fail_code.empty() ? fallback_code : r.fail_code);
}

void revoke_then(const context_ptr& ctx, revocation rv,
                 std::function<void(std::int32_t)> then) {
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::revoke_atom_v,
               std::move(rv))
      .then([ctx, then](std::int32_t n) { guarded(ctx, [&] { then(n); }); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void no_content(const context_ptr& ctx) {
  http::response r;
  r.status = 204;
  ctx->reply(std::move(r));
}

std::string utc_time(std::int64_t t) {
  return authsvc::utc_time(t);
}

std::string notice_locale(const context_ptr& ctx, const user_info& user) {
  return mail::choose_locale("", user.locale,
                             ctx->req.header("Accept-Language"),
                             ctx->cfg().mail.default_locale);
}

void notify_sessions_revoked(const context_ptr& ctx, const user_info& user,
                             std::int32_t count, bool by_user,
                             const std::function<void()>& then) {
  auto now = unix_now(ctx);
  nlohmann::json vars
      = {{"time", utc_time(now)}, {"count", std::to_string(count)}};
  if (!user.display_name.empty())
    vars["display_name"] = user.display_name;
  if (by_user) {
    vars["ip"] = ctx->client_ip;
    vars["device"] = auth::display_user_agent(user_agent(ctx));
  }
  db::unit u;
  u.statements.push_back(
      mail_job_insert(ctx->svc(),
                      {user.email, "sessions_revoked", notice_locale(ctx, user),
                       std::move(vars)},
                      now));
  db_write(ctx, std::move(u), [ctx, then](db::unit_result& r) {
    if (!r.ok)
      return reply_db_failure(ctx, r, "internal_error");
    caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
    then();
  });
}

db::statement account_deleted_mail(const context_ptr& ctx,
                                   const user_info& user, std::int64_t now) {
  nlohmann::json vars = {{"email", user.email}, {"time", utc_time(now)}};
  if (!user.display_name.empty())
    vars["display_name"] = user.display_name;
  return mail_job_insert(ctx->svc(),
                         {user.email, "account_deleted",
                          notice_locale(ctx, user), std::move(vars)},
                         now);
}

} // namespace authsvc::http_routes
