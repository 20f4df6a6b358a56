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

} // namespace authsvc::db::users_store
