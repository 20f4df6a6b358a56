#pragma once
// The audit_logs table: the auditor's batched writes, its retention purge
// and account erasure, and the admin API's and the CLI's reads.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db {

/// One security-relevant event for the audit trail and its subscribers (also
/// the message type audit_event). Never holds a secret: no tokens, codes,
/// keys or hashes of them.
struct audit_record {
  std::string type; ///< e.g. "session.created", "email.link_failed"
  std::int64_t created_at = 0;
  std::string user_id;
  std::string email; ///< hashed by the auditor when configured
  std::string ip;
  std::string user_agent;
  std::string request_id;
  std::string actor; ///< who acted for someone else, e.g. "admin:<key id>"
  bool success = true;
  std::string metadata; ///< a small JSON object, as text
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return f(x.type, x.created_at, x.user_id, x.email, x.ip, x.user_agent,
           x.request_id, x.actor, x.success, x.metadata);
}

namespace audit_store {

/// An event as stored: its row id, and NULL where nothing was recorded.
struct stored_event {
  std::int64_t id = 0;
  std::string type;
  std::int64_t created_at = 0;
  std::optional<std::string> user_id;
  std::optional<std::string> email;
  std::optional<std::string> ip;
  std::optional<std::string> user_agent;
  std::optional<std::string> request_id;
  std::optional<std::string> actor;
  bool success = true;
  std::string metadata; ///< JSON object text (may be malformed)
};

/// The rows of page() or export_range(), in their order.
std::vector<stored_event> decode_events(const rowset& rs);

// -- the auditor --------------------------------------------------------------

/// Writes one event (empty fields become NULL, no metadata "{}").
statement insert(const audit_record& e);

/// Removes the events older than `cutoff` (retention).
statement purge_before(std::int64_t cutoff);

/// Rewrites the events of a deleted account: `email` becomes `hashed`, the
/// user agent goes. Matches rows by user id (when not empty), address or
/// hash.
statement forget_account(const std::string& user_id, const std::string& email,
                         const std::string& hashed);

// -- admin --------------------------------------------------------------------

/// The admin API's filters; empty ones match every event.
struct filter {
  std::string user_id;
  std::string type;
  std::optional<std::int64_t> since;
  std::optional<std::int64_t> until;
  std::optional<std::int64_t> success; ///< 1 or 0
  std::optional<std::int64_t> before;  ///< row ids below this (the cursor)
  std::int64_t limit = 50;             ///< rows to read
};

/// Reads matching events, newest first.
statement page(const filter& f);

// -- command line -------------------------------------------------------------

/// Reads the events from `since` to `until` (0 = no end), oldest first.
statement export_range(std::int64_t since, std::int64_t until);

} // namespace audit_store

} // namespace authsvc::db
