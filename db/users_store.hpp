#pragma once
// The users table: the statements that read and change accounts, and the
// decoding of their rows. Plain functions that build db::statement / db::unit
// values; the DB actor runs them. No other file holds users SQL.
#include <cstdint>
#include <string>

#include "db/value.hpp"

namespace authsvc::db {

/// A user as clients see it (also the message type user_info).
struct user_record {
  std::string id;
  std::string email;
  std::string display_name;
  std::string locale;
  std::int64_t created_at = 0;
  bool disabled = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(x.id, x.email, x.display_name, x.locale, x.created_at, x.disabled);
}

namespace users_store {

/// The user in row `row` of a result with the columns id, email,
/// display_name, locale, created_at and optionally disabled.
user_record decode_user(const rowset& rs, std::size_t row = 0);

// -- operations: each a function building its statement or unit -------------
// (sections per area keep parallel work apart; keep new ones in your area)

// -- admin --

// -- email sign-in --

// -- passkeys and TOTP --

// -- sessions --

} // namespace users_store

} // namespace authsvc::db
