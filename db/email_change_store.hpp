#pragma once
// The email_changes table (account lifecycle, POST /v1/me/email): one row
// per request, with the new address's link and code and the old address's
// cancel link as hashes. Plain functions that build db::statement values and
// decode their rows; the DB actor runs them. No other file holds SQL of this
// table.
#include <cstdint>
#include <optional>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::email_change_store {

// -- the request --------------------------------------------------------------

/// What a request decides on.
struct request_facts {
  std::string current_email;       ///< the requester's address ("" = gone)
  std::string owner_id;            ///< the account of the new address, if any
  std::string owner_locale;        ///< that account's locale
  std::int64_t sent_last_hour = 0; ///< mails to the new mailbox since then
  std::int64_t last_sent = 0;      ///< when it last got one (0: never)
};

/// The one read of a request: the requester's address, the account of
/// `new_email`, and the send counts of its mailbox `budget_key` since
/// `sent_since` (sign-in mails and email-change mails together).
statement read_request_facts(const std::string& user_id,
                             const std::string& new_email,
                             const std::string& budget_key,
                             std::int64_t sent_since);

request_facts decode_request_facts(const rowset& rs);

/// SQL expressions for the sign-in start's read (flows_store): the
/// email-change mails to the mailbox `budget_param` created after
/// `since_param`, and when it last got one (0: never). One budget per
/// mailbox, whichever flow mails it.
std::string sent_since_sql(const std::string& budget_param,
                           const std::string& since_param);
std::string last_sent_sql(const std::string& budget_param);

/// A new row.
struct new_change {
  std::string id;
  std::string user_id;
  std::string session_id;
  std::string old_email;
  std::string new_email;
  std::string link_hash;
  std::string code_hash;
  std::string cancel_hash;
  bool mailed = false;
  std::string budget_key;
  std::string ip;
  std::string user_agent;
  std::string status; ///< "pending", or "dead" when there is nothing to change
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t cancel_until = 0;
};

/// Ends the user's pending requests (a newer one replaces them).
statement supersede_pending(const std::string& user_id);

statement insert_change(const new_change& c);

// -- confirming (the new address) ---------------------------------------------

/// What the confirmation page shows about a pending request.
struct link_view {
  std::string new_email;
  std::string ip;
  std::string user_agent;
  std::int64_t created_at = 0;
};

/// Reads the pending, unexpired request of a link (no change: mail scanners
/// prefetch links).
statement pending_by_link(const std::string& link_hash, std::int64_t now);

std::optional<link_view> decode_link_view(const rowset& rs);

/// Marks the pending, unexpired request of a link confirmed; returns id,
/// user_id, old_email, new_email. Else the unit fails with `fail_code`.
statement confirm_by_link(const std::string& link_hash, std::int64_t now,
                          const std::string& fail_code);

/// The same for a request found by its id (the code path).
statement confirm_by_id(const std::string& id, std::int64_t now,
                        const std::string& fail_code);

/// The row a confirming or cancelling statement returned.
struct change_row {
  std::string id;
  std::string user_id;
  std::string session_id;
  std::string old_email;
  std::string new_email;
  std::int64_t created_at = 0;
  std::int64_t confirmed_at = 0; ///< 0 = never confirmed
};

change_row decode_change_row(const rowset& rs);

/// What counting a code attempt returned.
struct code_attempt {
  std::string id;
  std::string code_hash;
  std::int64_t attempts = 0; ///< including this one
};

/// Counts one code attempt on the user's pending, unexpired request with
/// fewer than `max_attempts` so far (counting first, atomically, so parallel
/// guesses cannot exceed the limit); else the unit fails with `fail_code`.
statement count_code_attempt(const std::string& user_id, std::int64_t now,
                             std::int64_t max_attempts,
                             const std::string& fail_code);

code_attempt decode_code_attempt(const rowset& rs);

/// Ends a request (its code attempts ran out, or its address was taken).
statement kill_change(const std::string& id);

// -- cancelling (the old address) ---------------------------------------------

/// "This was not me": the request of a cancel link becomes 'cancelled'
/// while its 72 h last (pending, confirmed or dead alike; a cancelled one is
/// refused, so a replay fails); returns id, user_id, session_id, old_email,
/// new_email, created_at, confirmed_at. Else the unit fails with
/// `fail_code`.
statement cancel_by_token(const std::string& cancel_hash, std::int64_t now,
                          const std::string& fail_code);

/// Ends the user's other pending requests (bound to the cancelled row).
statement end_pending_of(const value& user_id);

} // namespace authsvc::db::email_change_store
