#pragma once
// Reading a user_info from a result row (columns id, email, display_name,
// locale, created_at and optionally disabled), in one place for every flow.
#include "actors/messages.hpp"
#include "db/value.hpp"

namespace authsvc {

/// The user in row `row` of `rs`.
inline user_info user_from_row(const db::rowset& rs, std::size_t row = 0) {
  user_info u;
  u.id = rs.at(row, "id").s;
  u.email = rs.at(row, "email").s;
  u.display_name = rs.at(row, "display_name").s;
  u.locale = rs.at(row, "locale").s;
  u.created_at = rs.at(row, "created_at").i;
  u.disabled = rs.at(row, "disabled").i != 0;
  return u;
}

} // namespace authsvc
