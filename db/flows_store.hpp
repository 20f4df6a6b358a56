#pragma once
// The email_flows and exchange_codes tables.
#include <string>

#include "db/value.hpp"

namespace authsvc::db::flows_store {

// -- admin --

/// Removes every email flow addressed to `email` (an account deletion).
statement delete_for_email(const std::string& email);

} // namespace authsvc::db::flows_store
