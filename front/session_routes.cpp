#include "front/session_routes.hpp"

#include "actors/caf_errors.hpp"
#include "actors/logout_flow.hpp"
#include "actors/safe_request.hpp"
#include "core/log.hpp"
#include "db/flows_store.hpp"
#include "db/mail_store.hpp"
#include "db/users_store.hpp"
#include "front/error_table.hpp"
#include "front/metadata.hpp"
#include "front/route_helpers.hpp"
#include "mail/locale.hpp"

namespace authsvc::http_routes {

void token_refresh(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto token = errors.string(*body, "refresh_token", true, 512);
  if (errors.reply_if_any(ctx))
    return;
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::refresh_atom_v,
               refresh_request{*token, ctx->client_ip, user_agent(ctx), {}, {}})
      .then([ctx](token_result& r) { reply_tokens(ctx, r); },
            [ctx](caf::error& e) {
              // A refusal is a session_errc; anything else (a timeout) is
              // the session actor not answering.
              auto err = from_caf(e);
              if (err.domain() != error_domain::session)
                return ctx->reply_failure(e);
              if (err.is(session_errc::refresh_token_reused))
                ctx->log_fields["refresh"] = "reuse_detected";
              ctx->reply_error(http::to_api_error(err));
            });
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
  logout_input in;
  if (!ctx->req.body.empty()) {
    auto body = ctx->json_body();
    if (!body)
      return;
    field_errors errors;
    for (auto& [field, problem] : logout_detail::parse(*body, in))
      errors.add(field, problem);
    if (errors.reply_if_any(ctx))
      return;
  }
  // Removing factors is a factor change: a stolen token alone cannot.
  if (in.remove_hours > 0 && !ctx->recent_sign_in())
    return ctx->reply_error("reauthentication_required");
  in.auth = ctx->auth;
  in.ip = ctx->client_ip;
  in.user_agent = user_agent(ctx);
  in.request_id = ctx->request_id;
  in.actor = ctx->actor;
  ctx->log_fields["scope"] = in.scope;
  run_logout(
      ctx->self, ctx->svc(), in,
      [ctx](result<logout_outcome>& r) {
        if (!r)
          return ctx->reply_internal(r.err().detail());
        if (r->factors_checked) {
          ctx->log_fields["removed_passkeys"] = r->removed_passkeys;
          ctx->log_fields["removed_totp"] = r->removed_totp;
        }
        if (!r->notify())
          return no_content(ctx);
        notify_sessions_revoked(ctx, ctx->auth.user, r->revoked, true,
                                [ctx] { no_content(ctx); });
      },
      [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void me_get(const context_ptr& ctx) {
  namespace users = db::users_store;
  db_read(ctx, users::read_active_with_metadata(ctx->auth.user_id),
          [ctx](db::rowset& rs) {
            auto m = users::decode_metadata(rs);
            if (!m)
              return ctx->reply_error("unauthorized");
            ctx->reply_json(
                200, metadata::user_json_with(users::decode_user(rs), *m));
          });
}

void me_patch(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto name = errors.string(*body, "display_name", false, 100);
  auto locale = errors.string(*body, "locale", false, 35);
  metadata::check_display_name(name, errors);
  if (locale && !locale->empty() && !mail::match_locale(*locale))
    errors.add("locale", "is not a supported locale");
  // user_metadata merges (RFC 7396); app_metadata belongs to the operator
  // (access-token claims may be read from it), so a user can never write
  // it, and a body that tries changes nothing at all.
  auto user_meta = metadata::read_change(*body, "user_metadata", errors);
  if (body->contains("app_metadata"))
    errors.add("app_metadata", "is set through the admin API only");
  if (errors.reply_if_any(ctx))
    return;
  namespace users = db::users_store;
  const auto& uid = ctx->auth.user_id;
  db::unit u;
  auto now = ctx->svc().clock->unix_seconds();
  if (body->contains("display_name"))
    u.statements.push_back(users::set_display_name(
        uid, name && !name->empty() ? name : std::nullopt, now));
  if (body->contains("locale"))
    u.statements.push_back(users::set_locale(
        uid,
        locale && !locale->empty() ? mail::match_locale(*locale) : std::nullopt,
        now));
  if (user_meta)
    metadata::append_merge(u, uid, users::metadata_column::user, *user_meta,
                           now);
  u.statements.push_back(users::read_active_with_metadata(uid, "unauthorized"));
  db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
    if (!r.ok) {
      if (metadata::reply_if_too_large(ctx, r))
        return;
      return reply_db_failure(ctx, r, "unauthorized");
    }
    const auto& rs = r.results.back();
    // read_active_with_metadata is a stmt_one: a committed unit returned
    // exactly that row. Checked anyway, as every client-reachable optional.
    auto meta = users::decode_metadata(rs);
    if (!meta)
      return ctx->reply_error("unauthorized");
    auto user = users::decode_user(rs);
    caf::anon_send(ctx->svc().sessions, user);
    ctx->audit("account.updated", true);
    ctx->reply_json(200, metadata::user_json_with(user, *meta));
  });
}

void me_delete(const context_ptr& ctx) {
  auto user_id = ctx->auth.user_id;
  auto email = ctx->auth.user.email;
  auto rv = make_revocation(ctx, {}, user_id, {}, "account_deleted");
  // Sessions go first (in memory, at once), then every row of the account.
  revoke_then(ctx, rv, [ctx, user_id, email](std::int32_t) {
    db::unit u;
    u.statements.push_back(db::flows_store::remove_flows_of(email));
    // Every job addressed to the account goes, sent ones too; only the
    // notice below is added (the mailer deletes it once it is finished).
    u.statements.push_back(db::mail_store::remove_jobs_to(email));
    u.statements.push_back(db::users_store::remove(user_id));
    u.statements.push_back(account_deleted_mail(
        ctx, ctx->auth.user, ctx->svc().clock->unix_seconds()));
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
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::list_atom_v,
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
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::jwks_atom_v)
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
