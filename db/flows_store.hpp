#pragma once
// The email sign-in tables: `email_flows` (one row per started sign-in: its
// link, code and flow secret as hashes, its state) and `exchange_codes`
// (one-time codes a browser trades for the tokens of a confirmed link).
// Plain functions that build db::statement values and decode their rows;
// the DB actor runs them. No other file holds SQL of these tables.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/executor.hpp"
#include "db/value.hpp"

namespace authsvc::db::flows_store {

// -- starting a flow ----------------------------------------------------------

/// What starting a flow for an address decides on.
struct start_facts {
  bool known = false;              ///< an enabled account has the address
  std::string user_locale;         ///< the account's locale, if any
  std::int64_t sent_last_hour = 0; ///< mails to the mailbox since `sent_since`
  std::int64_t last_sent = 0;      ///< when the mailbox last got one (0: never)
};

/// The one read of email/start: the account of `email` and the send counts
/// of its mailbox (`budget_key`) since `sent_since`.
statement read_start_facts(const std::string& email, std::int64_t sent_since,
                           const std::string& budget_key);

start_facts decode_start_facts(const rowset& rs);

/// The statements that make the send caps exact (issue 14): they go first in
/// the unit that inserts a mailed flow and fail it with "send_cap" when the
/// mailbox (`budget_key`) has had `hourly_cap` mails since `sent_since`, or
/// one after `last_sent_before` (the minimum interval), by the time the unit
/// runs. The read before only decides; two starts that both read a budget
/// with one mail left would otherwise both send. On PostgreSQL a transaction
/// advisory lock on the mailbox comes first (tried, never waited for: held
/// elsewhere, the start counts as over budget), so units of several nodes
/// never check one mailbox at once; on SQLite the one writer orders them.
std::vector<statement> send_budget_guard(backend engine,
                                         const std::string& budget_key,
                                         std::int64_t sent_since,
                                         std::int64_t hourly_cap,
                                         std::int64_t last_sent_before);

/// A new flow row.
struct new_flow {
  std::string id;
  std::string email;
  std::string flow_secret_hash;
  std::string link_hash;
  std::string code_hash;
  std::optional<std::string> redirect_to; ///< nullopt: NULL
  std::string locale;
  std::string ip;
  std::string user_agent;
  std::string status; ///< "pending", or "dead" when no mail goes out
  bool mailed = false;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t match_number = 0;
  std::string match_choices;
  std::string budget_key;
};

statement insert_flow(const new_flow& f);

// -- email change (account lifecycle): one send budget per mailbox --

/// SQL expressions for other stores' reads: the sign-in mails to the mailbox
/// `budget_param` (a placeholder such as "?3") created after `since_param`,
/// and when it last got one (0: never), so that other mails to an address
/// share its send caps.
std::string sent_since_sql(const std::string& budget_param,
                           const std::string& since_param);
std::string last_sent_sql(const std::string& budget_param);

// -- the link -----------------------------------------------------------------

/// What the confirmation page shows about a pending flow.
struct link_view {
  std::string ip;
  std::string user_agent;
  std::int64_t created_at = 0;
  std::string match_choices;
};

/// Reads the pending, unexpired flow of a link (no change: mail scanners
/// prefetch links).
statement pending_by_link(const std::string& link_hash, std::int64_t now);

std::optional<link_view> decode_link_view(const rowset& rs);

/// The row a consuming statement returned (the columns it names; others stay
/// empty).
struct consumed_flow {
  std::string id;
  std::string email;
  std::string redirect_to;
  std::string status;
  std::string ip;
};

consumed_flow decode_consumed(const rowset& rs);

/// Consumes a pending link for its holder: status 'collected'; returns id,
/// email, redirect_to. Exactly one of two concurrent clicks sees the row;
/// else the unit fails with `fail_code`.
statement collect_by_link(const std::string& link_hash, std::int64_t now,
                          const std::string& fail_code);

/// The hand-over: consumes a pending link of a flow with a match number,
/// 'approved' when `match` is the starter's number, else 'dead'; returns id,
/// email, status.
statement approve_by_link(const std::string& link_hash, std::int64_t now,
                          std::int64_t match, const std::string& fail_code);

/// "This was not me": the pending link's flow becomes 'dead'; returns id,
/// email, ip.
statement deny_by_link(const std::string& link_hash, std::int64_t now,
                       const std::string& fail_code);

// -- the code -----------------------------------------------------------------

/// What counting a code attempt returned.
struct code_attempt {
  std::string email;
  std::string code_hash;
  std::int64_t attempts = 0; ///< including this one
  std::string user_id;       ///< the address's account ("" = none)
  std::int64_t locked_until = 0;
};

/// Counts one code attempt of a pending, unexpired flow with fewer than
/// `max_attempts` so far, and returns the code's hash, the address's account
/// and its lock for `lockout_method` from `source` (failed_attempts, see
/// db/lockout_store). Counting first, atomically, means a flood of parallel
/// guesses cannot exceed the limit.
statement count_code_attempt(const std::string& flow_id, std::int64_t now,
                             std::int64_t max_attempts,
                             const std::string& source,
                             const std::string& lockout_method,
                             const std::string& fail_code);

code_attempt decode_code_attempt(const rowset& rs);

/// Ends a pending flow whose code attempts ran out.
statement kill_flow(const std::string& flow_id);

/// The right code: the pending flow becomes 'collected'; returns email.
statement collect_by_code(const std::string& flow_id, std::int64_t now,
                          const std::string& fail_code);

// -- the starter's exchange ---------------------------------------------------

/// What the starting device's poll needs.
struct exchange_view {
  std::string status;
  std::string flow_secret_hash;
  std::int64_t expires_at = 0;
};

statement read_for_exchange(const std::string& flow_id);

std::optional<exchange_view> decode_exchange_view(const rowset& rs);

/// Collects an approved flow for the holder of its secret; returns email.
statement collect_approved(const std::string& flow_id,
                           const std::string& secret_hash,
                           const std::string& fail_code);

// -- exchange codes -----------------------------------------------------------

statement insert_exchange_code(const std::string& code_hash,
                               const std::string& session_id,
                               const std::string& payload_enc, std::int64_t now,
                               std::int64_t expires_at);

/// Removes an unexpired exchange code and returns its sealed payload.
statement take_exchange_code(const std::string& code_hash, std::int64_t now,
                             const std::string& fail_code);

/// The sealed payload take_exchange_code returned.
std::string decode_exchange_payload(const rowset& rs);

// -- sessions --

/// Removes flows that expired more than a day before `now` (maintenance).
statement purge_flows(std::int64_t now);
/// Removes exchange codes that expired before `now` (maintenance).
statement purge_exchange_codes(std::int64_t now);
/// Removes every flow started for `email` (account deletion).
statement remove_flows_of(const std::string& email);

// -- admin --

/// Removes every email flow addressed to `email` (an account deletion).
statement delete_for_email(const std::string& email);

} // namespace authsvc::db::flows_store
