#pragma once
// The audit_logs table (the audit trail).
// Plain functions that build db::statement / db::unit values; the DB actor
// runs them. Sections per area keep parallel work apart.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db::audit_store {

// -- CLI (sessions) --

/// One audit event as exported; absent columns are nullopt.
struct export_row {
  std::int64_t id = 0;
  std::string type;
  std::int64_t created_at = 0;
  std::optional<std::string> user_id;
  std::optional<std::string> email;
  std::optional<std::string> ip;
  std::optional<std::string> user_agent;
  std::optional<std::string> request_id;
  std::optional<std::string> actor;
  bool success = false;
  std::string metadata; ///< JSON text
};

/// Reads the events from `since` to `until` (0 = no end), inclusive, in order.
statement export_range(std::int64_t since, std::int64_t until);
std::vector<export_row> decode_export(const rowset& rs);

} // namespace authsvc::db::audit_store
