#include "front/admin_routes.hpp"

#include "actors/safe_request.hpp"
#include "auth/cidr.hpp"
#include "auth/crypto.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/ip_address.hpp"
#include "auth/secret_box.hpp"
#include "auth/url.hpp"
#include "auth/webhook_signature.hpp"
#include "db/audit_store.hpp"
#include "db/flows_store.hpp"
#include "db/ip_filters_store.hpp"
#include "db/mail_store.hpp"
#include "db/stats_store.hpp"
#include "db/users_store.hpp"
#include "db/webhooks_store.hpp"
#include "front/admin_errc.hpp"
#include "front/error_table.hpp"
#include "front/lockout.hpp"
#include "front/metadata.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

using form_t = std::vector<std::pair<std::string, std::string>>;
using http::admin_errc;
namespace users_store = db::users_store;
namespace ip_filters_store = db::ip_filters_store;
namespace webhooks_store = db::webhooks_store;

/// Answers a failure of the admin API: the api.md code and status from the
/// one table (front/error_table.cpp), with an optional message and details.
void reply_admin_error(const context_ptr& ctx, const error& e,
                       std::string message = {}, nlohmann::json details = {}) {
  auto out = http::to_api_error(e);
  out.message = std::move(message);
  out.details = std::move(details);
  ctx->reply_error(out);
}

void reply_invalid(const context_ptr& ctx, nlohmann::json details) {
  reply_admin_error(ctx, admin_errc::validation_failed, {}, std::move(details));
}

template <class T>
nlohmann::json opt_json(const std::optional<T>& x) {
  return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
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
  reply_invalid(ctx, {{"limit", "must be 1 to 200"}});
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

/// Answers one page of a keyset-paginated list. The read asked for
/// `limit + 1` rows: the first `limit` go out as `key`, and the extra row,
/// if any, says there is a next page, which starts after the last row shown
/// (`sort_key` gives that row's cursor text).
template <class T, class RowJson, class SortKey>
void reply_page(const context_ptr& ctx, const std::vector<T>& rows,
                std::int64_t limit, const char* key, RowJson row_json,
                SortKey sort_key) {
  nlohmann::json items = nlohmann::json::array();
  auto n = std::min<std::size_t>(rows.size(), static_cast<std::size_t>(limit));
  for (std::size_t i = 0; i < n; ++i)
    items.push_back(row_json(rows[i]));
  nlohmann::json next = nullptr;
  if (rows.size() > n)
    next = make_cursor(sort_key(rows[n - 1]));
  ctx->reply_json(200,
                  {{key, std::move(items)}, {"next_cursor", std::move(next)}});
}

/// The sort key of lists ordered by creation time, newest first.
template <class T>
std::string time_id_key(const T& x) {
  return std::to_string(x.created_at) + " " + x.id;
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

// -- reads and writes through the stores
// ---------------------------------------

/// Runs the read `s` and hands what the store's `decode` makes of its rows
/// to `then`.
template <class Decode, class Then>
void read_as(const context_ptr& ctx, db::statement s, Decode decode,
             Then then) {
  db_read(ctx, std::move(s),
          [decode, then](db::rowset& rs) mutable { then(decode(rs)); });
}

/// Runs the read `s`, decodes it with `decode` (a result<T> or optional), and
/// hands the value to `then`; answers 404 not_found when there is none.
template <class Decode, class Then>
void read_or_404(const context_ptr& ctx, db::statement s, Decode decode,
                 Then then) {
  read_as(ctx, std::move(s), decode, [ctx, then](auto found) mutable {
    if (!found)
      return reply_admin_error(ctx, admin_errc::not_found);
    then(*found);
  });
}

/// Answers the one thing the read `s` finds as `to_json` of it, or 404.
template <class Decode, class ToJson>
void reply_one(const context_ptr& ctx, db::statement s, Decode decode,
               ToJson to_json) {
  read_or_404(ctx, std::move(s), decode,
              [ctx, to_json](auto& x) { ctx->reply_json(200, to_json(x)); });
}

/// Answers every thing the read `s` finds as {key: [to_json of each]}.
template <class Decode, class ToJson>
void reply_list(const context_ptr& ctx, db::statement s, const char* key,
                Decode decode, ToJson to_json) {
  read_as(ctx, std::move(s), decode, [ctx, key, to_json](const auto& xs) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& x : xs)
      list.push_back(to_json(x));
    ctx->reply_json(200, {{key, list}});
  });
}

/// Answers one page (see reply_page) of what the read `s` finds; `s` asked
/// for `limit + 1` rows.
template <class Decode, class RowJson, class SortKey>
void read_page(const context_ptr& ctx, db::statement s, Decode decode,
               std::int64_t limit, const char* key, RowJson row_json,
               SortKey sort_key) {
  read_as(ctx, std::move(s), decode,
          [ctx, limit, key, row_json, sort_key](const auto& rows) {
            reply_page(ctx, rows, limit, key, row_json, sort_key);
          });
}

/// Runs the unit `u` that must find its row (an update or removal by id),
/// decodes its outcome with `decode` (a result<T>) and hands the value to
/// `then`; answers 404 not_found when the row was not there.
template <class Decode, class Then>
void write_or_404(const context_ptr& ctx, db::unit u, Decode decode,
                  Then then) {
  db_write(ctx, std::move(u), [ctx, decode, then](db::unit_result& r) mutable {
    auto out = decode(r);
    if (!out)
      return reply_admin_error(ctx, admin_errc::not_found);
    then(*out);
  });
}

// -- JSON forms
// -----------------------------------------------------------------

nlohmann::json admin_user_json(const users_store::admin_user& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"display_name", opt_json(u.display_name)},
          {"locale", opt_json(u.locale)},
          {"created_at", u.created_at},
          {"updated_at", u.updated_at},
          {"disabled", u.disabled},
          {"locked_until", opt_json(u.locked_until)},
          {"counts",
           {{"sessions", u.sessions},
            {"passkeys", u.passkeys},
            {"totp", u.totp},
            {"recovery_codes", u.recovery_codes}}},
          {"user_metadata", metadata::parse_stored(u.user_metadata)},
          {"app_metadata", metadata::parse_stored(u.app_metadata)}};
}

void reply_admin_user(const context_ptr& ctx, const std::string& id) {
  reply_one(ctx, users_store::admin_user_by_id(id, unix_now(ctx)),
            users_store::decode_admin_user, admin_user_json);
}

nlohmann::json session_json(const session_view& s) {
  return {{"id", s.id},
          {"user_id", s.user_id},
          {"created_at", s.created_at},
          {"last_seen_at", s.last_seen_at},
          {"expires_at", s.expires_at},
          {"ip", s.ip},
          {"user_agent", s.user_agent},
          {"amr", s.amr}};
}

nlohmann::json audit_json(const db::audit_store::stored_event& e) {
  auto meta = nlohmann::json::parse(e.metadata, nullptr, false);
  return {{"id", std::to_string(e.id)},
          {"type", e.type},
          {"created_at", e.created_at},
          {"user_id", opt_json(e.user_id)},
          {"email", opt_json(e.email)},
          {"ip", opt_json(e.ip)},
          {"user_agent", opt_json(e.user_agent)},
          {"request_id", opt_json(e.request_id)},
          {"actor", opt_json(e.actor)},
          {"success", e.success},
          {"metadata", meta.is_object() ? meta : nlohmann::json::object()}};
}

/// Answers 409 would_lock_out_caller when the rules `after` a change would
/// deny the address this request comes from: an operator cutting off their
/// own access to the admin API by accident. `force: true` overrides.
/// @returns true when it replied.
bool locks_out_caller(const context_ptr& ctx, const auth::ip_filter& after) {
  if (after.decide(ctx->client_ip) != auth::ip_decision::deny)
    return false;
  reply_admin_error(ctx, admin_errc::would_lock_out_caller, {},
                    {{"client_ip", ctx->client_ip}});
  return true;
}

nlohmann::json ip_filter_json(const ip_filters_store::rule& r) {
  return {{"id", r.id},
          {"cidr", r.cidr},
          {"action", r.action},
          {"reason", opt_json(r.reason)},
          {"created_by", opt_json(r.created_by)},
          {"created_at", r.created_at}};
}

nlohmann::json webhook_json(const webhooks_store::admin_endpoint& w) {
  auto types = nlohmann::json::parse(w.event_types, nullptr, false);
  return {
      {"id", w.id},
      {"url", w.url},
      {"event_types", types.is_array() ? types : nlohmann::json::array({"*"})},
      {"enabled", w.enabled},
      {"created_at", w.created_at}};
}

nlohmann::json delivery_json(const webhooks_store::admin_delivery& d) {
  return {{"id", d.id},
          {"endpoint_id", d.endpoint_id},
          {"event_type", d.event_type},
          {"status", d.status},
          {"attempts", d.attempts},
          {"last_status_code", opt_json(d.last_status_code)},
          {"last_error", opt_json(d.last_error)},
          {"next_attempt_at", d.status == "pending"
                                  ? nlohmann::json(d.next_attempt_at)
                                  : nlohmann::json(nullptr)},
          {"created_at", d.created_at},
          {"delivered_at", opt_json(d.delivered_at)}};
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
    return reply_invalid(ctx, bad);
  auto search = http::form_value(q, "query").value_or("");
  // Newest first; the cursor is "created_at id" of the last row shown.
  std::int64_t c_time;
  std::string c_id;
  if (!time_id_cursor(cursor, c_time, c_id))
    return reply_invalid(ctx, {{"cursor", "is malformed"}});
  read_page(ctx,
            users_store::admin_users_page(search, unix_now(ctx), c_time, c_id,
                                          limit + 1),
            users_store::decode_admin_users, limit, "users", admin_user_json,
            [](const auto& u) { return time_id_key(u); });
}

void admin_user_get(const context_ptr& ctx) {
  reply_admin_user(ctx, ctx->params["id"]);
}

namespace {

/// What an admin PATCH asks to change; each field is optional.
struct admin_user_change {
  std::optional<bool> disabled;
  std::optional<std::string> email; ///< normalised
  bool set_display_name = false;
  std::optional<std::string> display_name;  ///< nullopt clears it
  std::optional<std::string> user_metadata; ///< merge patch text
  std::optional<std::string> app_metadata;  ///< merge patch text

  bool empty() const {
    return !disabled && !email && !set_display_name && !user_metadata
           && !app_metadata;
  }

  /// The names of the profile fields it changes (audited).
  nlohmann::json profile_fields() const {
    auto out = nlohmann::json::array();
    if (set_display_name)
      out.push_back("display_name");
    if (user_metadata)
      out.push_back("user_metadata");
    if (app_metadata)
      out.push_back("app_metadata");
    return out;
  }
};

/// Reads the change, or answers 422 with every bad field.
std::optional<admin_user_change> read_user_change(const context_ptr& ctx,
                                                  const nlohmann::json& body) {
  admin_user_change c;
  field_errors errors;
  if (auto it = body.find("disabled"); it != body.end()) {
    if (it->is_boolean())
      c.disabled = it->get<bool>();
    else
      errors.add("disabled", "must be a boolean");
  }
  if (body.contains("email")) {
    if (auto raw = errors.string(body, "email", true, 320)) {
      auto n = auth::normalise_email(*raw);
      if (n)
        c.email = n.address;
      else
        errors.add("email", "is not a valid address: "
                                + std::string(auth::to_string(n.error)));
    }
  }
  c.set_display_name = body.contains("display_name");
  auto name = errors.string(body, "display_name", false, 100);
  metadata::check_display_name(name, errors);
  if (name && !name->empty())
    c.display_name = name;
  c.user_metadata = metadata::read_change(body, "user_metadata", errors);
  c.app_metadata = metadata::read_change(body, "app_metadata", errors);
  if (!errors.any() && c.empty())
    errors.add("body", "names no field to change (disabled, email, "
                       "display_name, user_metadata, app_metadata)");
  if (errors.reply_if_any(ctx))
    return std::nullopt;
  return c;
}

/// The unit of an admin PATCH: every change or none. Its first and last
/// statements read the user before and after (both fail the unit with
/// not_found when there is no such user).
db::unit user_change_unit(const std::string& id, const admin_user_change& c,
                          std::int64_t now) {
  namespace users = users_store;
  db::unit u;
  u.statements.push_back(users::read_with_metadata_or(id, "not_found"));
  if (c.email) {
    // The address is the account key: another account's is refused (the
    // UNIQUE index backs this up as a constraint failure).
    u.statements.push_back(users::email_free_for(id, *c.email, "email_taken"));
    u.statements.push_back(users::set_email(id, *c.email, now));
  }
  if (c.disabled) {
    auto disable = users::set_disabled(id, *c.disabled, now);
    for (auto& s : disable.statements)
      u.statements.push_back(std::move(s));
  }
  if (c.set_display_name)
    u.statements.push_back(users::set_display_name(id, c.display_name, now));
  if (c.user_metadata)
    metadata::append_merge(u, id, users::metadata_column::user,
                           *c.user_metadata, now);
  if (c.app_metadata)
    metadata::append_merge(u, id, users::metadata_column::app, *c.app_metadata,
                           now);
  u.statements.push_back(users::read_with_metadata_or(id, "not_found"));
  return u;
}

/// Audits what an applied admin PATCH changed (the admin key id is the
/// event's actor).
void audit_user_change(const context_ptr& ctx, const admin_user_change& c,
                       const user_info& before, const user_info& after) {
  if (c.email && before.email != after.email)
    ctx->audit("user.email_changed_by_admin", true, after.id, after.email,
               {{"admin_key_id", ctx->actor}});
  if (c.disabled)
    ctx->audit(*c.disabled ? "user.disabled" : "user.enabled", true, after.id);
  auto fields = c.profile_fields();
  if (!fields.empty())
    ctx->audit("user.updated_by_admin", true, after.id, {},
               {{"fields", fields}, {"admin_key_id", ctx->actor}});
}

} // namespace

void admin_user_patch(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  auto change = read_user_change(ctx, *body);
  if (!change)
    return;
  auto id = ctx->params["id"];
  db_write(
      ctx, user_change_unit(id, *change, unix_now(ctx)),
      [ctx, id, c = *change](db::unit_result& r) {
        if (!r.ok) {
          if (metadata::reply_if_too_large(ctx, r))
            return;
          if (r.fail_code == "email_taken" || r.fail_code == "constraint")
            return reply_admin_error(ctx, admin_errc::conflict,
                                     "The address belongs to another account.",
                                     {{"email", "belongs to another account"}});
          return reply_admin_error(ctx, admin_errc::not_found);
        }
        auto before = users_store::decode_user(r.results.front());
        auto after = users_store::decode_user(r.results.back());
        // Live sessions carry the profile (token responses, /v1/session).
        caf::anon_send(ctx->svc().sessions, after);
        audit_user_change(ctx, c, before, after);
        if (!c.disabled || !*c.disabled)
          return reply_admin_user(ctx, id);
        // Disabling takes effect at once: every live session goes.
        revoke_then(ctx, make_revocation(ctx, {}, id, {}, "user_disabled"),
                    [ctx, id](std::int32_t) { reply_admin_user(ctx, id); });
      });
}

void admin_user_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  read_or_404(
      ctx, users_store::by_id(id), users_store::decode_found_user,
      [ctx, id](const user_info& user) {
        revoke_then(
            ctx, make_revocation(ctx, {}, id, {}, "account_deleted"),
            [ctx, user](std::int32_t) {
              db::unit u;
              u.statements.push_back(
                  db::flows_store::delete_for_email(user.email));
              // Every job addressed to the account, sent ones too.
              u.statements.push_back(
                  db::mail_store::delete_for_recipient(user.email));
              u.statements.push_back(users_store::delete_user(user.id));
              u.statements.push_back(
                  account_deleted_mail(ctx, user, unix_now(ctx)));
              db_write(ctx, std::move(u), [ctx, user](db::unit_result& r) {
                if (!r.ok)
                  return ctx->reply_internal("user delete failed: "
                                             + r.fail_code);
                caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
                ctx->audit("account.deleted", true, user.id, user.email);
                // After its last event: keep only the address's hash.
                caf::anon_send(ctx->svc().auditor, atom::purge_atom_v, user.id,
                               user.email);
                no_content(ctx);
              });
            });
      });
}

void admin_user_unlock(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  read_or_404(ctx, users_store::user_exists(id), users_store::decode_exists,
              [ctx, id](done) {
                db_write(ctx, lockout::unlock_unit(id),
                         [ctx, id](db::unit_result&) {
                           ctx->audit("account.unlocked", true, id);
                           no_content(ctx);
                         });
              });
}

void admin_user_sessions(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  auto now = unix_now(ctx);
  // The session actor owns live sessions (its last_seen_at is the one
  // /v1/me/sessions shows); the database only says whether the user exists.
  read_or_404(ctx, users_store::user_exists(id), users_store::decode_exists,
              [ctx, id, now](done) {
                safe_request(ctx->self, ctx->svc().sessions, db_timeout,
                             atom::list_atom_v, id)
                    .then(
                        [ctx, now](std::vector<session_view>& xs) {
                          guarded(ctx, [&] {
                            nlohmann::json list = nlohmann::json::array();
                            for (const auto& s : xs)
                              if (s.expires_at > now)
                                list.push_back(session_json(s));
                            ctx->reply_json(200, {{"sessions", list}});
                          });
                        },
                        [ctx](caf::error& e) { ctx->reply_failure(e); });
              });
}

void admin_user_sessions_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  read_or_404(ctx, users_store::by_id(id), users_store::decode_found_user,
              [ctx, id](const user_info& user) {
                revoke_then(
                    ctx, make_revocation(ctx, {}, id, {}, "revoked_by_admin"),
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
  // Whose session it is, as the session actor (its owner) sees it.
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::lookup_atom_v,
               id)
      .then(
          [ctx, id](std::vector<session_view>& xs) {
            guarded(ctx, [&] {
              if (xs.empty())
                return reply_admin_error(ctx, admin_errc::not_found);
              auto user = xs.front().user_id;
              revoke_then(ctx,
                          make_revocation(ctx, id, {}, {}, "revoked_by_admin"),
                          [ctx, user](std::int32_t) {
                            ctx->audit("session.revoked_by_admin", true, user);
                            no_content(ctx);
                          });
            });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

// -- audit and stats ----------------------------------------------------------

void admin_audit(const context_ptr& ctx) {
  auto q = http::parse_form(ctx->req.query());
  auto limit = page_limit(ctx, q);
  if (!limit)
    return;
  nlohmann::json bad = nlohmann::json::object();
  db::audit_store::filter f;
  f.since = int_param(q, "since", bad);
  f.until = int_param(q, "until", bad);
  auto cursor = read_cursor(q, bad);
  if (cursor) {
    try {
      f.before = std::stoll(*cursor);
    } catch (...) {
      bad["cursor"] = "is malformed";
    }
  }
  if (auto s = http::form_value(q, "success"); s && !s->empty()) {
    if (*s == "true")
      f.success = 1;
    else if (*s == "false")
      f.success = 0;
    else
      bad["success"] = "must be true or false";
  }
  if (!bad.empty())
    return reply_invalid(ctx, bad);
  f.user_id = http::form_value(q, "user_id").value_or("");
  f.type = http::form_value(q, "type").value_or("");
  f.limit = limit + 1;
  auto read = db::audit_store::page(f);
  // Events still buffered in the auditor are written first, so what an
  // operator just did is in the answer.
  safe_request(ctx->self, ctx->svc().auditor, db_timeout, atom::flush_atom_v)
      .then(
          [ctx, read, limit](std::int32_t) {
            read_page(ctx, read, db::audit_store::decode_events, limit,
                      "events", audit_json,
                      [](const auto& e) { return std::to_string(e.id); });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

static void admin_stats_now(const context_ptr& ctx);

void admin_stats(const context_ptr& ctx) {
  // Sign-ins are counted from the audit trail: write what is buffered first.
  safe_request(ctx->self, ctx->svc().auditor, db_timeout, atom::flush_atom_v)
      .then([ctx](std::int32_t) { admin_stats_now(ctx); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

static void admin_stats_now(const context_ptr& ctx) {
  read_as(ctx, db::stats_store::read_totals(unix_now(ctx)),
          db::stats_store::decode_totals,
          [ctx](const db::stats_store::totals& t) {
            ctx->reply_json(200, {{"total_users", t.total_users},
                                  {"disabled_users", t.disabled_users},
                                  {"active_sessions", t.active_sessions},
                                  {"logins_24h", t.logins_24h},
                                  {"emails_queued", t.emails_queued},
                                  {"emails_failed", t.emails_failed},
                                  {"passkeys", t.passkeys},
                                  {"totp_users", t.totp_users},
                                  {"webhooks_pending", t.webhooks_pending}});
          });
}

// -- IP filters ---------------------------------------------------------------

void admin_ip_filters(const context_ptr& ctx) {
  reply_list(ctx, ip_filters_store::list(), "ip_filters",
             ip_filters_store::decode_list, ip_filter_json);
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
  db_write(
      ctx,
      ip_filters_store::create(auth::uuid_v4(), block->to_string(), *action,
                               reason.value_or(""), ctx->actor, unix_now(ctx)),
      [ctx](db::unit_result& r) {
        auto created = ip_filters_store::decode_created(r);
        if (!created)
          return reply_admin_error(ctx, admin_errc::conflict,
                                   "This rule exists already.");
        auto rule = ip_filter_json(*created);
        ctx->audit("ip_filter.created", true, {}, {}, rule);
        ip_filters_changed(ctx, [ctx, rule] { ctx->reply_json(201, rule); });
      });
}

void admin_ip_filter_get(const context_ptr& ctx) {
  reply_one(ctx, ip_filters_store::get(ctx->params["id"]),
            ip_filters_store::decode_one, ip_filter_json);
}

void admin_ip_filter_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  bool force = false;
  for (const auto& [k, v] : http::parse_form(ctx->req.query()))
    if (k == "force") {
      if (v != "true" && v != "false")
        return reply_invalid(ctx, {{"force", "must be true or false"}});
      force = v == "true";
    }
  auto remove = [ctx, id] {
    write_or_404(
        ctx, ip_filters_store::remove(id), ip_filters_store::decode_removed,
        [ctx](const std::string& cidr) {
          ctx->audit("ip_filter.deleted", true, {}, {}, {{"cidr", cidr}});
          ip_filters_changed(ctx, [ctx] { no_content(ctx); });
        });
  };
  if (force)
    return remove();
  // Dropping the allow rule that admits the caller (while other allow rules
  // stay) would lock them out as surely as a deny rule.
  read_as(
      ctx, ip_filters_store::rule_match_of(id), ip_filters_store::decode_rules,
      [ctx, remove](const std::vector<ip_filters_store::rule_match>& rules) {
        if (rules.empty())
          return reply_admin_error(ctx, admin_errc::not_found);
        auto block = auth::cidr_block::parse(rules[0].cidr);
        auto action = rules[0].action == "allow" ? auth::ip_decision::allow
                                                 : auth::ip_decision::deny;
        if (block
            && locks_out_caller(
                ctx, ctx->self->state.ip_rules.without_rule(*block, action)))
          return;
        remove();
      });
}

// -- webhooks -----------------------------------------------------------------

void admin_webhooks(const context_ptr& ctx) {
  reply_list(ctx, webhooks_store::admin_list_endpoints(), "webhooks",
             webhooks_store::decode_admin_endpoints, webhook_json);
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
  webhooks_store::admin_endpoint ep{auth::uuid_v4(), *url, types.dump(),
                                    enabled, unix_now(ctx)};
  auto secret = auth::generate_webhook_secret();
  auto sealed = auth::secret_box::seal(ctx->svc().keys->webhooks,
                                       auth::to_bytes(secret), ep.id);
  db_write(ctx,
           webhooks_store::admin_create_endpoint(ep, auth::to_string(sealed)),
           [ctx, ep, types, secret](db::unit_result& r) {
             if (!r.ok)
               return ctx->reply_internal("webhook insert failed");
             ctx->audit("webhook.created", true, {}, {},
                        {{"webhook_id", ep.id}, {"url", ep.url}});
             caf::anon_send(ctx->svc().webhooks, atom::load_atom_v);
             auto res = http::json_response(201, {{"id", ep.id},
                                                  {"url", ep.url},
                                                  {"event_types", types},
                                                  {"enabled", ep.enabled},
                                                  {"created_at", ep.created_at},
                                                  {"secret", secret}});
             res.set_header("Cache-Control", "no-store");
             ctx->reply(std::move(res));
           });
}

void admin_webhook_get(const context_ptr& ctx) {
  reply_one(ctx, webhooks_store::admin_get_endpoint(ctx->params["id"]),
            webhooks_store::decode_admin_endpoint, webhook_json);
}

void admin_webhook_delete(const context_ptr& ctx) {
  write_or_404(ctx, webhooks_store::admin_delete_endpoint(ctx->params["id"]),
               webhooks_store::decode_admin_deleted, [ctx](done) {
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
    return reply_invalid(ctx, bad);
  auto id = ctx->params["id"];
  read_or_404(
      ctx, webhooks_store::admin_endpoint_exists(id),
      webhooks_store::decode_admin_exists, [ctx, id, cursor, limit](done) {
        // Newest first; the cursor is "created_at id".
        std::int64_t c_time;
        std::string c_id;
        if (!time_id_cursor(cursor, c_time, c_id))
          return reply_invalid(ctx, {{"cursor", "is malformed"}});
        read_page(
            ctx,
            webhooks_store::admin_deliveries_page(id, c_time, c_id, limit + 1),
            webhooks_store::decode_admin_deliveries, limit, "deliveries",
            delivery_json, [](const auto& d) { return time_id_key(d); });
      });
}

// -- keys ---------------------------------------------------------------------

void admin_keys_rotate(const context_ptr& ctx) {
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::rotate_atom_v)
      .then(
          [ctx](std::string& kid) {
            ctx->audit("keys.rotated", true, {}, {}, {{"kid", kid}});
            ctx->reply_json(200, {{"kid", kid},
                                  {"alg", ctx->cfg().tokens.algorithm},
                                  {"created_at", unix_now(ctx)}});
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void ip_filters_changed(const context_ptr& ctx,
                        const std::function<void()>& then) {
  // The answer comes after every front actor was sent the new rules, so the
  // admin's next request already meets them.
  safe_request(ctx->self, ctx->svc().ip_filters, db_timeout,
               atom::reload_atom_v)
      .then([ctx, then](std::int32_t) { guarded(ctx, then); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace authsvc::http_routes
