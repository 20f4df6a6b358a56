#include "db/users_store.hpp"

#include "auth/text.hpp"
#include "db/decode.hpp"
#include "db/store_errc.hpp"

namespace authsvc::db::users_store {

user_record decode_user(const rowset& rs, std::size_t row) {
  user_record u;
  u.id = rs.at(row, "id").s;
  u.email = rs.at(row, "email").s;
  u.display_name = rs.at(row, "display_name").s;
  u.locale = rs.at(row, "locale").s;
  u.created_at = rs.at(row, "created_at").i;
  u.disabled = rs.at(row, "disabled").i != 0;
  return u;
}

// -- admin --

statement user_exists(const std::string& id) {
  return stmt("SELECT id FROM users WHERE id = ?", {value::text(id)});
}

result<done> decode_exists(const rowset& rs) {
  if (rs.empty())
    return store_errc::not_found;
  return done{};
}

statement metadata_of(const std::string& user_id) {
  return stmt("SELECT user_metadata, app_metadata FROM users WHERE id = ?",
              {value::text(user_id)});
}

result<user_metadata_record> decode_metadata(const rowset& rs) {
  if (rs.empty())
    return store_errc::not_found;
  user_metadata_record m;
  m.user_metadata = rs.at(0, "user_metadata").as_text();
  m.app_metadata = rs.at(0, "app_metadata").as_text();
  return m;
}

// -- claims --

statement set_app_metadata(const std::string& user_id,
                           const std::string& json_object_text,
                           std::int64_t now) {
  return stmt_one(
      "UPDATE users SET app_metadata = ?, updated_at = ? WHERE id = ?",
      {value::text(json_object_text), value::integer(now),
       value::text(user_id)},
      "not_found");
}

namespace {

const char* column_name(metadata_column c) {
  switch (c) {
  case metadata_column::user:
    return "user_metadata";
  case metadata_column::app:
    return "app_metadata";
  }
  return "user_metadata";
}

const char* with_metadata_sql
    = "SELECT id, email, display_name, locale, created_at, disabled, "
      "user_metadata, app_metadata FROM users WHERE id = ?";

} // namespace

statement read_active_with_metadata(const std::string& user_id,
                                    const std::string& fail_code) {
  std::string sql = std::string(with_metadata_sql) + " AND disabled = 0";
  if (fail_code.empty())
    return stmt(sql, {value::text(user_id)});
  return stmt_one(sql, {value::text(user_id)}, fail_code);
}

statement read_with_metadata_or(const std::string& user_id,
                                const std::string& fail_code) {
  return stmt_one(with_metadata_sql, {value::text(user_id)}, fail_code);
}

statement merge_metadata(const std::string& user_id, metadata_column column,
                         const std::string& patch, std::int64_t now) {
  std::string col = column_name(column);
  return stmt("UPDATE users SET " + col + " = json_patch(" + col
                  + ", ?), updated_at = ? WHERE id = ?",
              {value::text(patch), value::integer(now), value::text(user_id)});
}

statement metadata_fits(const std::string& user_id, metadata_column column,
                        std::int64_t max_bytes, const std::string& fail_code) {
  std::string col = column_name(column);
  auto s
      = stmt_one("SELECT id FROM users WHERE id = ? AND length(CAST(" + col
                     + " AS BLOB)) <= ?",
                 {value::text(user_id), value::integer(max_bytes)}, fail_code);
  // PostgreSQL has no BLOB to cast to; octet_length counts the same UTF-8
  // bytes (SQLite 3.40 has no octet_length).
  s.postgres_sql
      = "SELECT id FROM users WHERE id = ? AND octet_length(" + col + ") <= ?";
  return s;
}

statement email_free_for(const std::string& user_id, const std::string& email,
                         const std::string& fail_code) {
  auto s = stmt("SELECT id FROM users WHERE email = ? AND id != ?",
                {value::text(email), value::text(user_id)});
  s.min_rows = 0;
  s.max_rows = 0;
  s.fail_code = fail_code;
  return s;
}

statement set_email(const std::string& user_id, const std::string& email,
                    std::int64_t now) {
  return stmt("UPDATE users SET email = ?, updated_at = ? WHERE id = ?",
              {value::text(email), value::integer(now), value::text(user_id)});
}

namespace {

const char* admin_user_sql
    = "SELECT u.id, u.email, u.display_name, u.locale, u.created_at, "
      "u.updated_at, u.disabled, u.user_metadata, u.app_metadata, "
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

admin_user decode_admin_row(const rowset& rs, std::size_t i) {
  admin_user u;
  u.id = rs.at(i, "id").s;
  u.email = rs.at(i, "email").s;
  u.display_name = opt_text(rs.at(i, "display_name"));
  u.locale = opt_text(rs.at(i, "locale"));
  u.created_at = rs.at(i, "created_at").i;
  u.updated_at = rs.at(i, "updated_at").i;
  u.disabled = rs.at(i, "disabled").i != 0;
  u.locked_until = opt_int(rs.at(i, "locked_until"));
  u.sessions = rs.at(i, "n_sessions").i;
  u.passkeys = rs.at(i, "n_passkeys").i;
  u.totp = rs.at(i, "n_totp").i;
  u.recovery_codes = rs.at(i, "n_recovery").i;
  u.user_metadata = rs.at(i, "user_metadata").as_text();
  u.app_metadata = rs.at(i, "app_metadata").as_text();
  return u;
}

/// `search` lower-cased, with LIKE's wildcards and escape matched literally.
std::string like_pattern(const std::string& search) {
  std::string pattern;
  for (char ch : search) {
    if (ch == '%' || ch == '_' || ch == '\\')
      pattern += '\\';
    pattern += auth::ascii_lower(ch);
  }
  return pattern;
}

} // namespace

statement admin_user_by_id(const std::string& id, std::int64_t now) {
  return stmt(std::string(admin_user_sql) + "WHERE u.id = ?1",
              {value::text(id), value::integer(now)});
}

result<admin_user> decode_admin_user(const rowset& rs) {
  if (rs.empty())
    return store_errc::not_found;
  return decode_admin_row(rs, 0);
}

statement admin_users_page(const std::string& search, std::int64_t now,
                           std::int64_t before_time,
                           const std::string& before_id, std::int64_t limit) {
  // ?1 is the pattern and ?2 the time admin_user_sql reads: every
  // parameter is used (PostgreSQL cannot type one that is not).
  return stmt(std::string(admin_user_sql)
                  + "WHERE (?1 = '' OR u.email LIKE '%' || ?1 || '%' ESCAPE "
                    "'\\' OR u.id = ?1) AND (u.created_at < ?3 OR "
                    "(u.created_at = ?3 AND u.id < ?4)) "
                    "ORDER BY u.created_at DESC, u.id DESC LIMIT ?5",
              {value::text(like_pattern(search)), value::integer(now),
               value::integer(before_time), value::text(before_id),
               value::integer(limit)});
}

std::vector<admin_user> decode_admin_users(const rowset& rs) {
  return decode_rows(rs, decode_admin_row);
}

unit set_disabled(const std::string& id, bool disabled, std::int64_t now) {
  unit u;
  u.statements.push_back(stmt_one(
      "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?",
      {value::integer(disabled ? 1 : 0), value::integer(now), value::text(id)},
      "not_found"));
  return u;
}

result<done> decode_set_disabled(const unit_result& r) {
  if (!r.ok)
    return {store_errc::not_found, r.fail_code};
  return done{};
}

statement delete_user(const std::string& id) {
  return stmt("DELETE FROM users WHERE id = ?", {value::text(id)});
}

// -- email sign-in --

std::size_t append_sign_up(unit& u, const value& email,
                           const std::string& new_id, std::int64_t now,
                           const std::string& fail_code) {
  u.statements.push_back(stmt(
      "INSERT INTO users(id, email, created_at, "
      "updated_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(email) DO NOTHING",
      {value::text(new_id), email, value::integer(now), value::integer(now)}));
  u.statements.push_back(stmt_one(
      "SELECT id, email, display_name, locale, created_at, disabled FROM users "
      "WHERE email = ? AND disabled = 0",
      {email}, fail_code));
  return u.statements.size() - 1;
}

namespace {

statement user_where(const char* column, const std::string& key) {
  return stmt(std::string("SELECT id, email, display_name, locale, created_at, "
                          "disabled FROM users WHERE ")
                  + column + " = ?",
              {value::text(key)});
}

} // namespace

statement by_id(const std::string& id) {
  return user_where("id", id);
}

statement by_email(const std::string& email) {
  return user_where("email", email);
}

std::optional<user_record> decode_found_user(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  return decode_user(rs);
}

// -- passkeys and TOTP --

// -- sessions --

namespace {

const char* read_active_sql
    = "SELECT id, email, display_name, locale, created_at FROM users "
      "WHERE id = ? AND disabled = 0";

value text_or_null(const std::optional<std::string>& s) {
  return s ? value::text(*s) : value::null();
}

} // namespace

// -- email change (account lifecycle) --

statement change_email(const value& user_id, const value& from, const value& to,
                       std::int64_t now, const std::string& fail_code) {
  return stmt_one("UPDATE users SET email = ?3, updated_at = ?4 WHERE id = ?1 "
                  "AND email = ?2 AND disabled = 0 RETURNING id",
                  {user_id, from, to, value::integer(now)}, fail_code);
}

statement restore_email(const value& user_id, const value& from,
                        const value& to, const value& when, std::int64_t now) {
  // An address taken since must not stop the cancellation (its
  // revocations matter more): the row is skipped then, and the caller
  // learns from the missing row. Spelt with NOT EXISTS rather than SQLite's
  // UPDATE OR IGNORE so PostgreSQL runs it too (docs/scale-out.md); the
  // CAST gives the parameter a type PostgreSQL can infer.
  return stmt("UPDATE users SET email = ?3, updated_at = ?5 "
              "WHERE id = ?1 AND email = ?2 AND CAST(?4 AS BIGINT) IS NOT NULL "
              "AND NOT EXISTS (SELECT 1 FROM users AS taken "
              "WHERE taken.email = ?3 AND taken.id <> ?1) RETURNING id",
              {user_id, from, to, when, value::integer(now)});
}

statement read_active_ref(const value& user_id, const std::string& fail_code) {
  if (fail_code.empty())
    return stmt(read_active_sql, {user_id});
  return stmt_one(read_active_sql, {user_id}, fail_code);
}

statement read_active(const std::string& user_id) {
  return stmt(read_active_sql, {value::text(user_id)});
}

statement read_active_or(const std::string& user_id,
                         const std::string& fail_code) {
  return stmt_one(read_active_sql, {value::text(user_id)}, fail_code);
}

statement read_for_refresh(const std::string& user_id) {
  return stmt_one("SELECT id, email, display_name, locale, created_at, "
                  "disabled FROM users WHERE id = ? AND disabled = 0",
                  {value::text(user_id)}, "user_disabled");
}

statement set_display_name(const std::string& user_id,
                           const std::optional<std::string>& name,
                           std::int64_t now) {
  return stmt("UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?",
              {text_or_null(name), value::integer(now), value::text(user_id)});
}

statement set_locale(const std::string& user_id,
                     const std::optional<std::string>& locale,
                     std::int64_t now) {
  return stmt(
      "UPDATE users SET locale = ?, updated_at = ? WHERE id = ?",
      {text_or_null(locale), value::integer(now), value::text(user_id)});
}

statement remove(const std::string& user_id) {
  return stmt("DELETE FROM users WHERE id = ?", {value::text(user_id)});
}

statement insert(const user_record& u, std::int64_t now) {
  auto opt = [](const std::string& s) {
    return s.empty() ? value::null() : value::text(s);
  };
  return stmt("INSERT INTO users(id, email, display_name, locale, disabled, "
              "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
              {value::text(u.id), value::text(u.email), opt(u.display_name),
               opt(u.locale), value::integer(u.disabled ? 1 : 0),
               value::integer(u.created_at), value::integer(now)});
}

} // namespace authsvc::db::users_store
