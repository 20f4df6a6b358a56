#pragma once
// The mail_jobs table: the durable mail queue.
#include <string>

#include "db/value.hpp"

namespace authsvc::db::mail_store {

// -- admin --

/// Removes every job addressed to `email`, sent ones too (an account
/// deletion: no mail may outlive the account, except the notice of it).
statement delete_for_recipient(const std::string& email);

} // namespace authsvc::db::mail_store
