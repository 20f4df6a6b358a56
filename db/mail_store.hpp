#pragma once
// The durable mail queue (`mail_jobs`): the statements that queue, lease and
// finish mail jobs. Plain functions that build db::statement values; the DB
// actor runs them. No other file holds mail_jobs SQL.
#include <cstdint>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::mail_store {

// -- email sign-in --

/// Queues one mail job, due now: meant for the same unit as the change the
/// mail reports. `vars_enc` is the sealed template variables.
statement queue_job(const std::string& job_id, const std::string& message_id,
                    const std::string& to_email,
                    const std::string& template_name,
                    const std::string& locale, const std::string& vars_enc,
                    std::int64_t now);

} // namespace authsvc::db::mail_store
