#include "db/users_store.hpp"
#include "http/session_routes.hpp"

#include <functional>

#include "core/log.hpp"
#include "http/route_helpers.hpp"
#include "mail/locale.hpp"

namespace authsvc::http_routes {

namespace {

using db::value;

const char* select_user
    = "SELECT id, email, display_name, locale, created_at FROM users "
      "WHERE id = ? AND disabled = 0";

/// The furthest back "sign out everywhere" may remove factors (30 days).
constexpr std::int64_t max_remove_hours = 720;

/// Removes the passkeys and the TOTP (with its recovery codes) the user
/// added since `since`, then calls `then`: what "sign out everywhere" offers
/// after a takeover, when the attacker may have added a factor of their own.
void remove_recent_factors(const context_ptr& ctx, std::int64_t since,
                           std::function<void()> then) {
  auto uid = value::text(ctx->auth.user_id);
  auto t = value::integer(since);
  db::unit u;
  u.statements.push_back(
      db::stmt("DELETE FROM webauthn_credentials WHERE user_id = ? AND "
               "created_at >= ? RETURNING id",
               {uid, t}));
  // TOTP counts from its confirmation (a pending secret from its creation).
  u.statements.push_back(db::stmt(
      "DELETE FROM recovery_codes WHERE user_id = ?1 AND EXISTS (SELECT 1 "
      "FROM totp WHERE user_id = ?1 AND COALESCE(confirmed_at, created_at) "
      ">= ?2)",
      {uid, t}));
  u.statements.push_back(
      db::stmt("DELETE FROM totp WHERE user_id = ? AND "
               "COALESCE(confirmed_at, created_at) >= ? RETURNING user_id",
               {uid, t}));
  db_write(ctx, std::move(u), [ctx, then](db::unit_result& r) {
    if (!r.ok)
      return ctx->reply_internal("factor removal failed: " + r.fail_code);
    const auto& keys = r.results[0];
    for (std::size_t i = 0; i < keys.rows.size(); ++i)
      ctx->audit("passkey.deleted", true, {}, {},
                 {{"credential_id", keys.at(i, "id").s},
                  {"reason", "logout_global_recent"}});
    bool totp = !r.results[2].empty();
    if (totp)
      ctx->audit("totp.disabled", true, {}, {},
                 {{"reason", "logout_global_recent"}});
    ctx->log_fields["removed_passkeys"] = keys.rows.size();
    ctx->log_fields["removed_totp"] = totp;
    then();
  });
}

bool has_control_chars(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F)
      return true;
  return false;
}

} // namespace

void token_refresh(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto token = errors.string(*body, "refresh_token", true, 512);
  if (errors.reply_if_any(ctx))
    return;
  ctx->self
      ->request(ctx->svc().sessions, db_timeout, atom::refresh_atom_v,
                refresh_request{*token, ctx->client_ip, user_agent(ctx)})
      .then(
          [ctx](token_result& r) {
            if (r.error == "refresh_token_reused")
              ctx->log_fields["refresh"] = "reuse_detected";
            reply_tokens(ctx, r);
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void session_get(const context_ptr& ctx) {
  const auto& a = ctx->auth;
  ctx->reply_json(200, {{"user", user_json(a.user)},
                        {"session",
                         {{"id", a.session_id},
                          {"created_at", a.session_created_at},
                          {"expires_at", a.session_expires_at},
                          {"amr", a.amr}}}});
}

void logout(const context_ptr& ctx) {
  std::string scope = "local";
  std::int64_t remove_hours = 0;
  if (!ctx->req.body.empty()) {
    auto body = ctx->json_body();
    if (!body)
      return;
    field_errors errors;
    auto s = errors.string(*body, "scope", false, 16);
    if (s)
      scope = *s;
    if (scope != "local" && scope != "others" && scope != "global")
      errors.add("scope", "must be local, others or global");
    if (auto it = body->find("remove_recent_factors_hours");
        it != body->end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1
          || it->get<std::int64_t>() > max_remove_hours)
        errors.add("remove_recent_factors_hours",
                   "must be an integer from 1 to 720");
      else if (scope != "global")
        errors.add("remove_recent_factors_hours", "needs scope global");
      else
        remove_hours = it->get<std::int64_t>();
    }
    if (errors.reply_if_any(ctx))
      return;
  }
  // Removing factors is a factor change: a stolen token alone cannot.
  if (remove_hours > 0 && !ctx->recent_sign_in())
    return ctx->reply_error("reauthentication_required");
  auto rv = make_revocation(
      ctx, scope == "local" ? ctx->auth.session_id : std::string(),
      ctx->auth.user_id,
      scope == "others" ? ctx->auth.session_id : std::string(),
      "logout_" + scope);
  ctx->log_fields["scope"] = scope;
  revoke_then(ctx, rv, [ctx, scope, remove_hours](std::int32_t n) {
    ctx->audit("session.logout", true, {}, {},
               {{"scope", scope}, {"revoked", n}});
    auto notify = [ctx, scope, n] {
      // Signing out other devices is worth a mail: if it was not the
      // owner, the owner learns that someone holds their session.
      if (scope == "local" || n == 0)
        return no_content(ctx);
      notify_sessions_revoked(ctx, ctx->auth.user, n, true,
                              [ctx] { no_content(ctx); });
    };
    if (remove_hours == 0)
      return notify();
    remove_recent_factors(ctx, unix_now() - remove_hours * 3600, notify);
  });
}

void me_get(const context_ptr& ctx) {
  db_read(ctx, db::stmt(select_user, {value::text(ctx->auth.user_id)}),
          [ctx](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("unauthorized");
            ctx->reply_json(200, user_json(db::users_store::decode_user(rs)));
          });
}

void me_patch(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto name = errors.string(*body, "display_name", false, 100);
  auto locale = errors.string(*body, "locale", false, 35);
  if (name && has_control_chars(*name))
    errors.add("display_name", "must not contain control characters");
  if (locale && !locale->empty() && !mail::match_locale(*locale))
    errors.add("locale", "is not a supported locale");
  if (errors.reply_if_any(ctx))
    return;
  db::unit u;
  auto now = unix_now();
  if (body->contains("display_name"))
    u.statements.push_back(db::stmt(
        "UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?",
        {name && !name->empty() ? value::text(*name) : value::null(),
         value::integer(now), value::text(ctx->auth.user_id)}));
  if (body->contains("locale"))
    u.statements.push_back(db::stmt(
        "UPDATE users SET locale = ?, updated_at = ? WHERE id = ?",
        {locale && !locale->empty() ? value::text(*mail::match_locale(*locale))
                                    : value::null(),
         value::integer(now), value::text(ctx->auth.user_id)}));
  u.statements.push_back(db::stmt_one(
      select_user, {value::text(ctx->auth.user_id)}, "unauthorized"));
  db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
    if (!r.ok)
      return reply_db_failure(ctx, r, "unauthorized");
    auto user = db::users_store::decode_user(r.results.back());
    caf::anon_send(ctx->svc().sessions, user);
    ctx->audit("account.updated", true);
    ctx->reply_json(200, user_json(user));
  });
}

void me_delete(const context_ptr& ctx) {
  auto user_id = ctx->auth.user_id;
  auto email = ctx->auth.user.email;
  auto rv = make_revocation(ctx, {}, user_id, {}, "account_deleted");
  // Sessions go first (in memory, at once), then every row of the account.
  revoke_then(ctx, rv, [ctx, user_id, email](std::int32_t) {
    db::unit u;
    u.statements.push_back(db::stmt("DELETE FROM email_flows WHERE email = ?",
                                    {value::text(email)}));
    // Every job addressed to the account goes, sent ones too; only the
    // notice below is added (the mailer deletes it once it is finished).
    u.statements.push_back(db::stmt("DELETE FROM mail_jobs WHERE to_email = ?",
                                    {value::text(email)}));
    u.statements.push_back(
        db::stmt("DELETE FROM users WHERE id = ?", {value::text(user_id)}));
    u.statements.push_back(
        account_deleted_mail(ctx, ctx->auth.user, unix_now()));
    db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
      if (!r.ok)
        return ctx->reply_internal("account delete failed: " + r.fail_code);
      caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
      log::info("account", "account-deleted", {{"user_id", ctx->auth.user_id}});
      ctx->audit("account.deleted", true, {}, ctx->auth.user.email);
      // After the account's last event (same sender, so in order): the
      // trail keeps only the hash of its address.
      caf::anon_send(ctx->svc().auditor, atom::purge_atom_v, ctx->auth.user_id,
                     ctx->auth.user.email);
      no_content(ctx);
    });
  });
}

void me_sessions(const context_ptr& ctx) {
  ctx->self
      ->request(ctx->svc().sessions, db_timeout, atom::list_atom_v,
                ctx->auth.user_id)
      .then(
          [ctx](std::vector<session_view>& xs) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& s : xs)
              list.push_back({{"id", s.id},
                              {"created_at", s.created_at},
                              {"last_seen_at", s.last_seen_at},
                              {"expires_at", s.expires_at},
                              {"ip", s.ip},
                              {"user_agent", s.user_agent},
                              {"amr", s.amr},
                              {"current", s.id == ctx->auth.session_id}});
            ctx->reply_json(200, {{"sessions", list}});
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void me_session_delete(const context_ptr& ctx) {
  auto rv = make_revocation(ctx, ctx->params["id"], ctx->auth.user_id, {},
                            "revoked_by_user");
  revoke_then(ctx, rv, [ctx](std::int32_t n) {
    if (n == 0)
      return ctx->reply_error("not_found");
    no_content(ctx);
  });
}

void jwks(const context_ptr& ctx) {
  ctx->self->request(ctx->svc().sessions, db_timeout, atom::jwks_atom_v)
      .then(
          [ctx](std::string& doc) {
            http::response r;
            r.status = 200;
            r.set_header("Content-Type", "application/json; charset=utf-8");
            // Short: a rotated key must reach verifiers before tokens signed
            // with it do (new keys sign only after the next reload anyway).
            r.set_header("Cache-Control", "public, max-age=60");
            r.body = std::move(doc);
            ctx->reply(std::move(r));
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace authsvc::http_routes
