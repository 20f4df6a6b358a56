#include "db/users_store.hpp"

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

// -- email sign-in --

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
