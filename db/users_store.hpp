#pragma once
// The users table: the statements that read and change accounts, and the
// decoding of their rows. Plain functions that build db::statement / db::unit
// values; the DB actor runs them. No other file holds users SQL.
#include <cstdint>
#include <optional>
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

/// Appends the sign-up of a flow's address and the read of its user: an
/// upsert that creates the account (`new_id`, `now`) unless it exists, then
/// the enabled user of `email`, or the unit fails with `fail_code`. Sign-up
/// happens when a flow for a new address completes, never when it starts.
/// @returns the index of the statement whose rows decode_user reads.
std::size_t append_sign_up(unit& u, const value& email,
                           const std::string& new_id, std::int64_t now,
                           const std::string& fail_code);

/// Reads the user with id `id` (disabled ones too).
statement by_id(const std::string& id);

/// Reads the user with the normalised address `email` (disabled ones too).
statement by_email(const std::string& email);

/// The user a by_id / by_email read found, if any.
std::optional<user_record> decode_found_user(const rowset& rs);

// -- passkeys and TOTP --

// -- sessions --

} // namespace users_store

} // namespace authsvc::db
