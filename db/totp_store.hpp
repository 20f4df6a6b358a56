#pragma once
// The totp and recovery_codes tables.
// Plain functions that build db::statement / db::unit values; the DB actor
// runs them. Sections per area keep parallel work apart.
#include <cstdint>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::totp_store {

// -- sessions --

/// Removes `user_id`'s TOTP set up at or after `since` (counted from its
/// confirmation, a pending secret from its creation) and its recovery codes:
/// two statements; the second returns user_id when a TOTP went.
void append_remove_since(unit& u, const std::string& user_id,
                         std::int64_t since);

} // namespace authsvc::db::totp_store
