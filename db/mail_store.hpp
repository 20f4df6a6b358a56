#pragma once
// The mail_jobs table (the mailer's queue).
// Plain functions that build db::statement / db::unit values; the DB actor
// runs them. Sections per area keep parallel work apart.
#include <cstdint>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::mail_store {

// -- sessions --

/// Removes every job addressed to `email`, sent ones too (account deletion).
statement remove_jobs_to(const std::string& email);

} // namespace authsvc::db::mail_store
