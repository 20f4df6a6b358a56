#include "db/users_store.hpp"
#include "http/admin_routes.hpp"

#include "auth/cidr.hpp"
#include "auth/crypto.hpp"
#include "auth/ids.hpp"
#include "auth/ip_address.hpp"
#include "auth/secret_box.hpp"
#include "auth/url.hpp"
#include "auth/webhook_signature.hpp"
#include "http/lockout.hpp"
#include "http/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

using db::value;
using form_t = std::vector<std::pair<std::string, std::string>>;

value opt_text(const std::string& s) {
  return s.empty() ? value::null() : value::text(s);
}

nlohmann::json opt_json(const db::value& v) {
  if (v.is_null())
    return nullptr;
  if (v.kind == db::value::int_v)
    return v.i;
  return v.s;
}

/// Reads `limit` (1..200, default 50); answers 422 and returns 0 when bad.
std::int64_t page_limit(const context_ptr& ctx, const form_t& q) {
  auto l = http::form_value(q, "limit");
  if (!l)
    return 50;
  try {
    std::size_t pos = 0;
    auto n = std::stoll(*l, &pos);
    if (pos == l->size() && n >= 1 && n <= 200)
      return n;
  } catch (...) {
  }
  ctx->reply_error("validation_failed", {}, {{"limit", "must be 1 to 200"}});
  return 0;
}

/// An optional integer query parameter; sets `bad` on garbage.
std::optional<std::int64_t> int_param(const form_t& q, const char* name,
                                      nlohmann::json& bad) {
  auto v = http::form_value(q, name);
  if (!v || v->empty())
    return std::nullopt;
  try {
    std::size_t pos = 0;
    auto n = std::stoll(*v, &pos);
    if (pos == v->size())
      return n;
  } catch (...) {
  }
  bad[name] = "must be an integer";
  return std::nullopt;
}

/// Cursors are opaque to clients: base64url of the last row's sort key.
std::string make_cursor(const std::string& key) {
  return auth::base64url_encode(std::string_view(key));
}

std::optional<std::string> read_cursor(const form_t& q, nlohmann::json& bad) {
  auto c = http::form_value(q, "cursor");
  if (!c || c->empty())
    return std::nullopt;
  auto raw = auth::base64url_decode(*c);
  if (!raw || raw->empty() || raw->size() > 200) {
    bad["cursor"] = "is malformed";
    return std::nullopt;
  }
  return auth::to_string(*raw);
}

/// Answers one page of a keyset-paginated list. The query asked for
/// `limit + 1` rows: the first `limit` go out as `key`, and the extra row,
/// if any, says there is a next page, which starts after the last row shown
/// (`sort_key` gives that row's cursor text).
template <class RowJson, class SortKey>
void reply_page(const context_ptr& ctx, const db::rowset& rs,
                std::int64_t limit, const char* key, RowJson row_json,
                SortKey sort_key) {
  nlohmann::json items = nlohmann::json::array();
  auto n
      = std::min<std::size_t>(rs.rows.size(), static_cast<std::size_t>(limit));
  for (std::size_t i = 0; i < n; ++i)
    items.push_back(row_json(rs, i));
  nlohmann::json next = nullptr;
  if (rs.rows.size() > n)
    next = make_cursor(sort_key(rs, n - 1));
  ctx->reply_json(200,
                  {{key, std::move(items)}, {"next_cursor", std::move(next)}});
}

/// The sort key of lists ordered by creation time, newest first.
std::string time_id_key(const db::rowset& rs, std::size_t i) {
  return std::to_string(rs.at(i, "created_at").i) + " " + rs.at(i, "id").s;
}

/// A "created_at id" keyset cursor; no cursor means "from the newest".
/// @returns false for a malformed one.
bool time_id_cursor(const std::optional<std::string>& cursor,
                    std::int64_t& time, std::string& id) {
  time = INT64_MAX;
  id = "\x7f";
  if (!cursor)
    return true;
  auto sp = cursor->find(' ');
  if (sp == std::string::npos)
    return false;
  try {
    std::size_t pos = 0;
    time = std::stoll(cursor->substr(0, sp), &pos);
    if (pos != sp)
      return false;
  } catch (...) {
    return false;
  }
  id = cursor->substr(sp + 1);
  return true;
}

const char* select_user_by_id
    = "SELECT id, email, display_name, locale, created_at, disabled FROM users "
      "WHERE id = ?";

const char* admin_user_sql
    = "SELECT u.id, u.email, u.display_name, u.locale, u.created_at, "
      "u.updated_at, u.disabled, "
      "(SELECT MAX(locked_until) FROM failed_attempts f WHERE f.user_id = u.id "
      " AND f.locked_until > ?2) AS locked_until, "
      "(SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND "
      " s.revoked_at IS NULL AND s.expires_at > ?2 AND s.absolute_expires_at > "
      "?2) "
      " AS n_sessions, "
      "(SELECT COUNT(*) FROM webauthn_credentials w WHERE w.user_id = u.id) "
      " AS n_passkeys, "
      "(SELECT COUNT(*) FROM totp t WHERE t.user_id = u.id AND "
      " t.confirmed_at IS NOT NULL) AS n_totp, "
      "(SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND "
      " r.used_at IS NULL) AS n_recovery FROM users u ";

nlohmann::json admin_user_json(const db::rowset& rs, std::size_t i) {
  return {{"id", rs.at(i, "id").s},
          {"email", rs.at(i, "email").s},
          {"display_name", opt_json(rs.at(i, "display_name"))},
          {"locale", opt_json(rs.at(i, "locale"))},
          {"created_at", rs.at(i, "created_at").i},
          {"updated_at", rs.at(i, "updated_at").i},
          {"disabled", rs.at(i, "disabled").i != 0},
          {"locked_until", opt_json(rs.at(i, "locked_until"))},
          {"counts",
           {{"sessions", rs.at(i, "n_sessions").i},
            {"passkeys", rs.at(i, "n_passkeys").i},
            {"totp", rs.at(i, "n_totp").i},
            {"recovery_codes", rs.at(i, "n_recovery").i}}}};
}

void reply_admin_user(const context_ptr& ctx, const std::string& id) {
  db_read(ctx,
          db::stmt(std::string(admin_user_sql) + "WHERE u.id = ?1",
                   {value::text(id), value::integer(unix_now())}),
          [ctx](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("not_found");
            ctx->reply_json(200, admin_user_json(rs, 0));
          });
}

nlohmann::json audit_json(const db::rowset& rs, std::size_t i) {
  auto meta = nlohmann::json::parse(rs.at(i, "metadata").s, nullptr, false);
  return {{"id", std::to_string(rs.at(i, "id").i)},
          {"type", rs.at(i, "event_type").s},
          {"created_at", rs.at(i, "created_at").i},
          {"user_id", opt_json(rs.at(i, "user_id"))},
          {"email", opt_json(rs.at(i, "email"))},
          {"ip", opt_json(rs.at(i, "ip"))},
          {"user_agent", opt_json(rs.at(i, "user_agent"))},
          {"request_id", opt_json(rs.at(i, "request_id"))},
          {"actor", opt_json(rs.at(i, "actor"))},
          {"success", rs.at(i, "success").i != 0},
          {"metadata", meta.is_object() ? meta : nlohmann::json::object()}};
}

/// Answers 409 would_lock_out_caller when the rules `after` a change would
/// deny the address this request comes from: an operator cutting off their
/// own access to the admin API by accident. `force: true` overrides.
/// @returns true when it replied.
bool locks_out_caller(const context_ptr& ctx, const auth::ip_filter& after) {
  if (after.decide(ctx->client_ip) != auth::ip_decision::deny)
    return false;
  ctx->reply_error("would_lock_out_caller", {},
                   {{"client_ip", ctx->client_ip}});
  return true;
}

nlohmann::json ip_filter_json(const db::rowset& rs, std::size_t i) {
  return {{"id", rs.at(i, "id").s},
          {"cidr", rs.at(i, "cidr").s},
          {"action", rs.at(i, "action").s},
          {"reason", opt_json(rs.at(i, "reason"))},
          {"created_by", opt_json(rs.at(i, "created_by"))},
          {"created_at", rs.at(i, "created_at").i}};
}

nlohmann::json webhook_json(const db::rowset& rs, std::size_t i) {
  auto types = nlohmann::json::parse(rs.at(i, "event_types").s, nullptr, false);
  return {
      {"id", rs.at(i, "id").s},
      {"url", rs.at(i, "url").s},
      {"event_types", types.is_array() ? types : nlohmann::json::array({"*"})},
      {"enabled", rs.at(i, "enabled").i != 0},
      {"created_at", rs.at(i, "created_at").i}};
}

nlohmann::json delivery_json(const db::rowset& rs, std::size_t i) {
  return {
      {"id", rs.at(i, "id").s},
      {"endpoint_id", rs.at(i, "endpoint_id").s},
      {"event_type", rs.at(i, "event_type").s},
      {"status", rs.at(i, "status").s},
      {"attempts", rs.at(i, "attempts").i},
      {"last_status_code", opt_json(rs.at(i, "last_status_code"))},
      {"last_error", opt_json(rs.at(i, "last_error"))},
      {"next_attempt_at", rs.at(i, "status").s == "pending"
                              ? nlohmann::json(rs.at(i, "next_attempt_at").i)
                              : nlohmann::json(nullptr)},
      {"created_at", rs.at(i, "created_at").i},
      {"delivered_at", opt_json(rs.at(i, "delivered_at"))}};
}

} // namespace

// -- users --------------------------------------------------------------------

void admin_users(const context_ptr& ctx) {
  auto q = http::parse_form(ctx->req.query());
  auto limit = page_limit(ctx, q);
  if (!limit)
    return;
  nlohmann::json bad = nlohmann::json::object();
  auto cursor = read_cursor(q, bad);
  if (!bad.empty())
    return ctx->reply_error("validation_failed", {}, bad);
  auto search = http::form_value(q, "query").value_or("");
  // Newest first; the cursor is "created_at id" of the last row shown.
  std::int64_t c_time;
  std::string c_id;
  if (!time_id_cursor(cursor, c_time, c_id))
    return ctx->reply_error("validation_failed", {},
                            {{"cursor", "is malformed"}});
  // LIKE wildcards in the search text are matched literally.
  std::string pattern;
  for (char ch : search) {
    if (ch == '%' || ch == '_' || ch == '\\')
      pattern += '\\';
    pattern += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  db_read(
      ctx,
      db::stmt(
          std::string(admin_user_sql)
              + "WHERE (?3 = '' OR u.email LIKE '%' || ?3 || '%' ESCAPE '\\' "
                "OR u.id = ?3) AND (u.created_at < ?4 OR (u.created_at = ?4 "
                "AND u.id < ?5)) ORDER BY u.created_at DESC, u.id DESC LIMIT "
                "?6",
          {value::text(""), value::integer(unix_now()), value::text(pattern),
           value::integer(c_time), value::text(c_id),
           value::integer(limit + 1)}),
      [ctx, limit](db::rowset& rs) {
        reply_page(ctx, rs, limit, "users", admin_user_json, time_id_key);
      });
}

void admin_user_get(const context_ptr& ctx) {
  reply_admin_user(ctx, ctx->params["id"]);
}

void admin_user_patch(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  auto it = body->find("disabled");
  if (it == body->end() || !it->is_boolean())
    return ctx->reply_error("validation_failed", {},
                            {{"disabled", "must be a boolean"}});
  bool disabled = it->get<bool>();
  auto id = ctx->params["id"];
  db::unit u;
  u.statements.push_back(
      db::stmt_one("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?",
                   {value::integer(disabled ? 1 : 0),
                    value::integer(unix_now()), value::text(id)},
                   "not_found"));
  db_write(ctx, std::move(u), [ctx, id, disabled](db::unit_result& r) {
    if (!r.ok)
      return ctx->reply_error("not_found");
    ctx->audit(disabled ? "user.disabled" : "user.enabled", true, id);
    if (!disabled)
      return reply_admin_user(ctx, id);
    // Disabling takes effect at once: every live session goes.
    revoke_then(ctx, make_revocation(ctx, {}, id, {}, "user_disabled"),
                [ctx, id](std::int32_t) { reply_admin_user(ctx, id); });
  });
}

void admin_user_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db_read(ctx, db::stmt(select_user_by_id, {value::text(id)}),
          [ctx, id](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("not_found");
            auto user = db::users_store::decode_user(rs);
            revoke_then(
                ctx, make_revocation(ctx, {}, id, {}, "account_deleted"),
                [ctx, user](std::int32_t) {
                  db::unit u;
                  u.statements.push_back(
                      db::stmt("DELETE FROM email_flows WHERE email = ?",
                               {value::text(user.email)}));
                  // Every job addressed to the account, sent ones too.
                  u.statements.push_back(
                      db::stmt("DELETE FROM mail_jobs WHERE to_email = ?",
                               {value::text(user.email)}));
                  u.statements.push_back(
                      db::stmt("DELETE FROM users WHERE id = ?",
                               {value::text(user.id)}));
                  u.statements.push_back(
                      account_deleted_mail(ctx, user, unix_now()));
                  db_write(ctx, std::move(u), [ctx, user](db::unit_result& r) {
                    if (!r.ok)
                      return ctx->reply_internal("user delete failed: "
                                                 + r.fail_code);
                    caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
                    ctx->audit("account.deleted", true, user.id, user.email);
                    // After its last event: keep only the address's hash.
                    caf::anon_send(ctx->svc().auditor, atom::purge_atom_v,
                                   user.id, user.email);
                    no_content(ctx);
                  });
                });
          });
}

void admin_user_unlock(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db_read(ctx, db::stmt("SELECT id FROM users WHERE id = ?", {value::text(id)}),
          [ctx, id](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("not_found");
            db_write(ctx, lockout::unlock_unit(id),
                     [ctx, id](db::unit_result&) {
                       ctx->audit("account.unlocked", true, id);
                       no_content(ctx);
                     });
          });
}

void admin_user_sessions(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  auto now = unix_now();
  db_read(
      ctx, db::stmt("SELECT id FROM users WHERE id = ?", {value::text(id)}),
      [ctx, id, now](db::rowset& rs) {
        if (rs.empty())
          return ctx->reply_error("not_found");
        db_read(
            ctx,
            db::stmt(
                "SELECT id, user_id, created_at, last_seen_at, expires_at, ip, "
                "user_agent, amr FROM sessions WHERE user_id = ?1 AND "
                "revoked_at IS NULL AND expires_at > ?2 AND "
                "absolute_expires_at > ?2 ORDER BY created_at DESC",
                {value::text(id), value::integer(now)}),
            [ctx](db::rowset& rs) {
              nlohmann::json list = nlohmann::json::array();
              for (std::size_t i = 0; i < rs.rows.size(); ++i) {
                auto amr
                    = nlohmann::json::parse(rs.at(i, "amr").s, nullptr, false);
                list.push_back(
                    {{"id", rs.at(i, "id").s},
                     {"user_id", rs.at(i, "user_id").s},
                     {"created_at", rs.at(i, "created_at").i},
                     {"last_seen_at", rs.at(i, "last_seen_at").i},
                     {"expires_at", rs.at(i, "expires_at").i},
                     {"ip", opt_json(rs.at(i, "ip"))},
                     {"user_agent", opt_json(rs.at(i, "user_agent"))},
                     {"amr", amr.is_array() ? amr : nlohmann::json::array()}});
              }
              ctx->reply_json(200, {{"sessions", list}});
            });
      });
}

void admin_user_sessions_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db_read(ctx, db::stmt(select_user_by_id, {value::text(id)}),
          [ctx, id](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("not_found");
            auto user = db::users_store::decode_user(rs);
            revoke_then(ctx,
                        make_revocation(ctx, {}, id, {}, "revoked_by_admin"),
                        [ctx, user](std::int32_t n) {
                          ctx->audit("sessions.revoked_all", true, user.id, {},
                                     {{"revoked", n}});
                          if (n == 0)
                            return no_content(ctx);
                          notify_sessions_revoked(ctx, user, n, false,
                                                  [ctx] { no_content(ctx); });
                        });
          });
}

void admin_session_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db_read(
      ctx,
      db::stmt(
          "SELECT user_id FROM sessions WHERE id = ? AND revoked_at IS NULL",
          {value::text(id)}),
      [ctx, id](db::rowset& rs) {
        if (rs.empty())
          return ctx->reply_error("not_found");
        auto user = rs.at(0, "user_id").s;
        revoke_then(ctx, make_revocation(ctx, id, {}, {}, "revoked_by_admin"),
                    [ctx, user](std::int32_t) {
                      ctx->audit("session.revoked_by_admin", true, user);
                      no_content(ctx);
                    });
      });
}

// -- audit and stats ----------------------------------------------------------

void admin_audit(const context_ptr& ctx) {
  auto q = http::parse_form(ctx->req.query());
  auto limit = page_limit(ctx, q);
  if (!limit)
    return;
  nlohmann::json bad = nlohmann::json::object();
  auto since = int_param(q, "since", bad);
  auto until = int_param(q, "until", bad);
  auto cursor = read_cursor(q, bad);
  std::optional<std::int64_t> before;
  if (cursor) {
    try {
      before = std::stoll(*cursor);
    } catch (...) {
      bad["cursor"] = "is malformed";
    }
  }
  std::optional<std::int64_t> success;
  if (auto s = http::form_value(q, "success"); s && !s->empty()) {
    if (*s == "true")
      success = 1;
    else if (*s == "false")
      success = 0;
    else
      bad["success"] = "must be true or false";
  }
  if (!bad.empty())
    return ctx->reply_error("validation_failed", {}, bad);
  auto user = http::form_value(q, "user_id").value_or("");
  auto type = http::form_value(q, "type").value_or("");
  auto opt_int = [](const std::optional<std::int64_t>& x) {
    return x ? value::integer(*x) : value::null();
  };
  auto stmt = db::stmt(
      "SELECT id, event_type, created_at, user_id, email, ip, user_agent, "
      "request_id, actor, success, metadata FROM audit_logs WHERE "
      "(?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR event_type = ?2) AND "
      "(?3 IS NULL OR created_at >= ?3) AND (?4 IS NULL OR created_at <= ?4) "
      "AND "
      "(?5 IS NULL OR success = ?5) AND (?6 IS NULL OR id < ?6) "
      "ORDER BY id DESC LIMIT ?7",
      {opt_text(user), opt_text(type), opt_int(since), opt_int(until),
       opt_int(success), opt_int(before), value::integer(limit + 1)});
  // Events still buffered in the auditor are written first, so what an
  // operator just did is in the answer.
  ctx->self->request(ctx->svc().auditor, db_timeout, atom::flush_atom_v)
      .then(
          [ctx, stmt, limit](std::int32_t) {
            db_read(ctx, stmt, [ctx, limit](db::rowset& rs) {
              reply_page(ctx, rs, limit, "events", audit_json,
                         [](const db::rowset& r, std::size_t i) {
                           return std::to_string(r.at(i, "id").i);
                         });
            });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

static void admin_stats_now(const context_ptr& ctx);

void admin_stats(const context_ptr& ctx) {
  // Sign-ins are counted from the audit trail: write what is buffered first.
  ctx->self->request(ctx->svc().auditor, db_timeout, atom::flush_atom_v)
      .then([ctx](std::int32_t) { admin_stats_now(ctx); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

static void admin_stats_now(const context_ptr& ctx) {
  auto now = unix_now();
  db_read(
      ctx,
      db::stmt(
          "SELECT (SELECT COUNT(*) FROM users) AS total_users, "
          "(SELECT COUNT(*) FROM users WHERE disabled = 1) AS disabled_users, "
          "(SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND "
          " expires_at > ?1 AND absolute_expires_at > ?1) AS active_sessions, "
          "(SELECT COUNT(*) FROM audit_logs WHERE event_type = "
          "'session.created' "
          " AND created_at > ?2) AS logins_24h, "
          "(SELECT COUNT(*) FROM mail_jobs WHERE status IN "
          "('queued','sending')) "
          " AS emails_queued, "
          "(SELECT COUNT(*) FROM mail_jobs WHERE status = 'failed') AS "
          "emails_failed, "
          "(SELECT COUNT(*) FROM webauthn_credentials) AS passkeys, "
          "(SELECT COUNT(*) FROM totp WHERE confirmed_at IS NOT NULL) AS "
          "totp_users, "
          "(SELECT COUNT(*) FROM webhook_deliveries WHERE status IN "
          " ('pending','delivering')) AS webhooks_pending",
          {value::integer(now), value::integer(now - 86400)}),
      [ctx](db::rowset& rs) {
        nlohmann::json out = nlohmann::json::object();
        for (std::size_t c = 0; c < rs.columns.size(); ++c)
          out[rs.columns[c]] = rs.rows[0][c].i;
        ctx->reply_json(200, out);
      });
}

// -- IP filters ---------------------------------------------------------------

void admin_ip_filters(const context_ptr& ctx) {
  db_read(
      ctx,
      db::stmt("SELECT id, cidr, action, reason, created_by, created_at FROM "
               "ip_filters ORDER BY created_at, id"),
      [ctx](db::rowset& rs) {
        nlohmann::json list = nlohmann::json::array();
        for (std::size_t i = 0; i < rs.rows.size(); ++i)
          list.push_back(ip_filter_json(rs, i));
        ctx->reply_json(200, {{"ip_filters", list}});
      });
}

void admin_ip_filter_create(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto cidr = errors.string(*body, "cidr", true, 64);
  auto action = errors.string(*body, "action", true, 8);
  auto reason = errors.string(*body, "reason", false, 200);
  std::optional<auth::cidr_block> block;
  if (cidr && !(block = auth::cidr_block::parse(*cidr)))
    errors.add("cidr", "is not an IP address or CIDR block");
  if (action && *action != "allow" && *action != "deny")
    errors.add("action", "must be allow or deny");
  bool force = false;
  if (auto it = body->find("force"); it != body->end()) {
    if (it->is_boolean())
      force = it->get<bool>();
    else
      errors.add("force", "must be a boolean");
  }
  if (errors.reply_if_any(ctx))
    return;
  if (!force
      && locks_out_caller(ctx, ctx->self->state.ip_rules.with_rule(
                                   *block, *action == "allow"
                                               ? auth::ip_decision::allow
                                               : auth::ip_decision::deny)))
    return;
  auto id = auth::uuid_v4();
  db::unit u;
  u.statements.push_back(
      db::stmt("INSERT INTO ip_filters(id, cidr, action, reason, created_by, "
               "created_at) "
               "VALUES (?, ?, ?, ?, ?, ?) RETURNING id, cidr, action, reason, "
               "created_by, "
               "created_at",
               {value::text(id), value::text(block->to_string()),
                value::text(*action), opt_text(reason.value_or("")),
                value::text(ctx->actor), value::integer(unix_now())}));
  u.statements.back().fail_code = "conflict";
  db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
    if (!r.ok)
      return ctx->reply_error("conflict", "This rule exists already.");
    auto rule = ip_filter_json(r.results[0], 0);
    ctx->audit("ip_filter.created", true, {}, {}, rule);
    ip_filters_changed(ctx, [ctx, rule] { ctx->reply_json(201, rule); });
  });
}

void admin_ip_filter_get(const context_ptr& ctx) {
  db_read(
      ctx,
      db::stmt("SELECT id, cidr, action, reason, created_by, created_at FROM "
               "ip_filters WHERE id = ?",
               {value::text(ctx->params["id"])}),
      [ctx](db::rowset& rs) {
        if (rs.empty())
          return ctx->reply_error("not_found");
        ctx->reply_json(200, ip_filter_json(rs, 0));
      });
}

void admin_ip_filter_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  bool force = false;
  for (const auto& [k, v] : http::parse_form(ctx->req.query()))
    if (k == "force") {
      if (v != "true" && v != "false")
        return ctx->reply_error("validation_failed", {},
                                {{"force", "must be true or false"}});
      force = v == "true";
    }
  auto remove = [ctx, id] {
    db::unit u;
    u.statements.push_back(
        db::stmt_one("DELETE FROM ip_filters WHERE id = ? RETURNING cidr",
                     {value::text(id)}, "not_found"));
    db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
      if (!r.ok)
        return ctx->reply_error("not_found");
      ctx->audit("ip_filter.deleted", true, {}, {},
                 {{"cidr", r.results[0].at(0, "cidr").s}});
      ip_filters_changed(ctx, [ctx] { no_content(ctx); });
    });
  };
  if (force)
    return remove();
  // Dropping the allow rule that admits the caller (while other allow rules
  // stay) would lock them out as surely as a deny rule.
  db_read(ctx,
          db::stmt("SELECT cidr, action FROM ip_filters WHERE id = ?",
                   {value::text(id)}),
          [ctx, remove](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("not_found");
            auto block = auth::cidr_block::parse(rs.at(0, "cidr").s);
            auto action = rs.at(0, "action").s == "allow"
                              ? auth::ip_decision::allow
                              : auth::ip_decision::deny;
            if (block
                && locks_out_caller(ctx, ctx->self->state.ip_rules.without_rule(
                                             *block, action)))
              return;
            remove();
          });
}

// -- webhooks -----------------------------------------------------------------

void admin_webhooks(const context_ptr& ctx) {
  db_read(ctx,
          db::stmt("SELECT id, url, event_types, enabled, created_at FROM "
                   "webhook_endpoints ORDER BY created_at, id"),
          [ctx](db::rowset& rs) {
            nlohmann::json list = nlohmann::json::array();
            for (std::size_t i = 0; i < rs.rows.size(); ++i)
              list.push_back(webhook_json(rs, i));
            ctx->reply_json(200, {{"webhooks", list}});
          });
}

void admin_webhook_create(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto url = errors.string(*body, "url", true, 2048);
  if (url) {
    auto parsed = auth::parse_url(*url);
    if (!parsed)
      errors.add("url", "must be an absolute http(s) URL");
    else if (auto ip = auth::ip_address::parse(parsed->host);
             ip
             && auth::is_forbidden_target(
                 *ip, ctx->cfg().webhooks.allow_private_targets))
      errors.add("url", "targets a loopback, private or reserved address");
  }
  nlohmann::json types = nlohmann::json::array({"*"});
  if (auto it = body->find("event_types");
      it != body->end() && !it->is_null()) {
    bool ok = it->is_array() && !it->empty() && it->size() <= 50;
    if (ok)
      for (const auto& t : *it)
        ok = ok && t.is_string() && !t.get<std::string>().empty()
             && t.get<std::string>().size() <= 100;
    if (ok)
      types = *it;
    else
      errors.add("event_types",
                 "must be a non-empty list of event type strings");
  }
  bool enabled = true;
  if (auto it = body->find("enabled"); it != body->end() && !it->is_null()) {
    if (it->is_boolean())
      enabled = it->get<bool>();
    else
      errors.add("enabled", "must be a boolean");
  }
  if (errors.reply_if_any(ctx))
    return;
  auto id = auth::uuid_v4();
  auto secret = auth::generate_webhook_secret();
  auto sealed = auth::secret_box::seal(ctx->svc().keys->webhooks,
                                       auth::to_bytes(secret), id);
  auto now = unix_now();
  db::unit u;
  u.statements.push_back(
      db::stmt("INSERT INTO webhook_endpoints(id, url, secret_enc, "
               "event_types, enabled, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?)",
               {value::text(id), value::text(*url),
                value::blob(auth::to_string(sealed)), value::text(types.dump()),
                value::integer(enabled ? 1 : 0), value::integer(now)}));
  db_write(ctx, std::move(u),
           [ctx, id, url, types, enabled, now, secret](db::unit_result& r) {
             if (!r.ok)
               return ctx->reply_internal("webhook insert failed");
             ctx->audit("webhook.created", true, {}, {},
                        {{"webhook_id", id}, {"url", *url}});
             caf::anon_send(ctx->svc().webhooks, atom::load_atom_v);
             auto res = http::json_response(201, {{"id", id},
                                                  {"url", *url},
                                                  {"event_types", types},
                                                  {"enabled", enabled},
                                                  {"created_at", now},
                                                  {"secret", secret}});
             res.set_header("Cache-Control", "no-store");
             ctx->reply(std::move(res));
           });
}

void admin_webhook_get(const context_ptr& ctx) {
  db_read(ctx,
          db::stmt("SELECT id, url, event_types, enabled, created_at FROM "
                   "webhook_endpoints WHERE id = ?",
                   {value::text(ctx->params["id"])}),
          [ctx](db::rowset& rs) {
            if (rs.empty())
              return ctx->reply_error("not_found");
            ctx->reply_json(200, webhook_json(rs, 0));
          });
}

void admin_webhook_delete(const context_ptr& ctx) {
  db::unit u;
  u.statements.push_back(
      db::stmt_one("DELETE FROM webhook_endpoints WHERE id = ?",
                   {value::text(ctx->params["id"])}, "not_found"));
  db_write(ctx, std::move(u), [ctx](db::unit_result& r) {
    if (!r.ok)
      return ctx->reply_error("not_found");
    ctx->audit("webhook.deleted", true, {}, {},
               {{"webhook_id", ctx->params["id"]}});
    caf::anon_send(ctx->svc().webhooks, atom::load_atom_v);
    no_content(ctx);
  });
}

void admin_webhook_deliveries(const context_ptr& ctx) {
  auto q = http::parse_form(ctx->req.query());
  auto limit = page_limit(ctx, q);
  if (!limit)
    return;
  nlohmann::json bad = nlohmann::json::object();
  auto cursor = read_cursor(q, bad);
  if (!bad.empty())
    return ctx->reply_error("validation_failed", {}, bad);
  auto id = ctx->params["id"];
  db_read(
      ctx,
      db::stmt("SELECT id FROM webhook_endpoints WHERE id = ?",
               {value::text(id)}),
      [ctx, id, cursor, limit](db::rowset& rs) {
        if (rs.empty())
          return ctx->reply_error("not_found");
        // Newest first; the cursor is "created_at id".
        std::int64_t c_time;
        std::string c_id;
        if (!time_id_cursor(cursor, c_time, c_id))
          return ctx->reply_error("validation_failed", {},
                                  {{"cursor", "is malformed"}});
        db_read(
            ctx,
            db::stmt(
                "SELECT id, endpoint_id, event_type, status, attempts, "
                "last_status_code, last_error, next_attempt_at, created_at, "
                "delivered_at FROM webhook_deliveries WHERE endpoint_id = ?1 "
                "AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) "
                "ORDER BY created_at DESC, id DESC LIMIT ?4",
                {value::text(id), value::integer(c_time), value::text(c_id),
                 value::integer(limit + 1)}),
            [ctx, limit](db::rowset& rs) {
              reply_page(ctx, rs, limit, "deliveries", delivery_json,
                         time_id_key);
            });
      });
}

// -- keys ---------------------------------------------------------------------

void admin_keys_rotate(const context_ptr& ctx) {
  ctx->self->request(ctx->svc().sessions, db_timeout, atom::rotate_atom_v)
      .then(
          [ctx](std::string& kid) {
            ctx->audit("keys.rotated", true, {}, {}, {{"kid", kid}});
            ctx->reply_json(200, {{"kid", kid},
                                  {"alg", ctx->cfg().tokens.algorithm},
                                  {"created_at", unix_now()}});
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void ip_filters_changed(const context_ptr& ctx, std::function<void()> then) {
  // The answer comes after every front actor was sent the new rules, so the
  // admin's next request already meets them.
  ctx->self->request(ctx->svc().ip_filters, db_timeout, atom::reload_atom_v)
      .then([ctx, then](std::int32_t) { guarded(ctx, then); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace authsvc::http_routes
