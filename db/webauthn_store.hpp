#pragma once
// The webauthn_credentials and webauthn_challenges tables.
// Plain functions that build db::statement / db::unit values; the DB actor
// runs them. Sections per area keep parallel work apart.
#include <cstdint>
#include <string>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db::webauthn_store {

// -- sessions --

/// Removes ceremony challenges that expired before `now` (maintenance).
statement purge_challenges(std::int64_t now);
/// What "sign out everywhere" removed of the factors added recently.
struct removed_factors {
  std::vector<std::string> credential_ids;
  bool totp = false;
};

/// Removes the passkeys and the TOTP (with its recovery codes) `user_id`
/// added at or after `since`, in one unit (see totp_store for the TOTP).
unit remove_factors_since(const std::string& user_id, std::int64_t since);
removed_factors decode_removed_factors(const unit_result& r);

} // namespace authsvc::db::webauthn_store
