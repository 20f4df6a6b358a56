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

} // namespace authsvc::db::users_store
