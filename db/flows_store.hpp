#pragma once
// The email_flows and exchange_codes tables (email sign-in flows).
// Plain functions that build db::statement / db::unit values; the DB actor
// runs them. Sections per area keep parallel work apart.
#include <cstdint>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::flows_store {

// -- sessions --

/// Removes flows that expired more than a day before `now` (maintenance).
statement purge_flows(std::int64_t now);
/// Removes exchange codes that expired before `now` (maintenance).
statement purge_exchange_codes(std::int64_t now);
/// Removes every flow started for `email` (account deletion).
statement remove_flows_of(const std::string& email);

} // namespace authsvc::db::flows_store
