#pragma once
// The admin API's service totals: one read across the tables (users,
// sessions, the audit trail, the mail queue, credentials, webhook
// deliveries).
#include <cstdint>

#include "db/value.hpp"

namespace authsvc::db::stats_store {

/// The totals at one moment.
struct totals {
  std::int64_t total_users = 0;
  std::int64_t disabled_users = 0;
  std::int64_t active_sessions = 0; ///< live at `now`
  std::int64_t logins_24h = 0;      ///< sessions created in the last day
  std::int64_t emails_queued = 0;
  std::int64_t emails_failed = 0;
  std::int64_t passkeys = 0;
  std::int64_t totp_users = 0;
  std::int64_t webhooks_pending = 0;
};

/// Reads the totals at `now`.
statement read_totals(std::int64_t now);

/// The totals read_totals() read.
totals decode_totals(const rowset& rs);

} // namespace authsvc::db::stats_store
