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

std::size_t append_sign_up(unit& u, const value& email,
                           const std::string& new_id, std::int64_t now,
                           const std::string& fail_code) {
  u.statements.push_back(stmt("INSERT INTO users(id, email, created_at, "
                              "updated_at) VALUES (?, ?, ?, ?) "
                              "ON CONFLICT(email) DO NOTHING",
                              {value::text(new_id), email, value::integer(now),
                               value::integer(now)}));
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
