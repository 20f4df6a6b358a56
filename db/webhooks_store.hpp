#pragma once
// Webhook endpoints and the delivery outbox (webhook_endpoints,
// webhook_deliveries) as the webhook actor sees them: loading endpoints,
// queuing deliveries for an event, claiming due deliveries, recording each
// attempt and the retention purge. Plain functions that build db::statement
// values and decode their rows; the DB actor runs them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/result.hpp"
#include "db/executor.hpp"
#include "db/value.hpp"

namespace authsvc::db::webhooks_store {

/// An endpoint as stored (its secret still sealed).
struct endpoint_row {
  std::string id;
  std::string url;
  std::string secret_enc;
  std::string event_types; ///< a JSON array of event type patterns
  bool enabled = true;
};

/// A delivery the claim handed to this actor.
struct claimed_delivery {
  std::string id;
  std::string endpoint_id;
  std::string payload;
  std::int64_t attempts = 0;
  std::int64_t created_at = 0;
  std::int64_t lease_until = 0; ///< what the claim set
};

/// Where the derivation of deliveries from audit_logs stands: the last audit
/// row (in commit order) already turned into deliveries.
struct audit_cursor {
  std::int64_t tx = 0; ///< PostgreSQL transaction id of that row; 0 on SQLite
  std::int64_t id = 0;
};

/// A committed audit row past the cursor.
struct audit_row {
  std::int64_t tx = 0;
  std::int64_t id = 0;
  std::string type;
  std::int64_t created_at = 0;
  std::string user_id; ///< "" when NULL
  std::string ip;
  std::string request_id;
  bool success = true;
  std::string metadata;
};

/// One delivery's state (diagnostics and tests).
struct delivery_state {
  std::string id;
  std::string status; ///< pending, delivering, succeeded or failed
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string last_error;
};

// -- endpoints ---------------------------------------------------------------

/// Every endpoint.
statement endpoints();
std::vector<endpoint_row> decode_endpoints(const rowset& rs);

/// Creates or updates the endpoint of the configuration (id "config").
statement upsert_config_endpoint(const std::string& url,
                                 const std::string& secret_enc,
                                 const std::string& event_types,
                                 std::int64_t now);

// -- the outbox --------------------------------------------------------------

/// Queues one delivery of `payload` to `endpoint_id`, due at `now`, derived
/// from audit row `audit_id` (0: none; a unique index allows one delivery
/// per endpoint and row).
statement insert_delivery(const std::string& id, const std::string& endpoint_id,
                          const std::string& event_type,
                          const std::string& payload, std::int64_t now,
                          std::int64_t audit_id = 0);

// -- deriving deliveries from the audit trail ---------------------------------

/// The cursor (decode with decode_cursor()).
statement cursor();
audit_cursor decode_cursor(const rowset& rs);

/// Up to `limit` committed audit rows after `from`, in commit order. On
/// PostgreSQL only rows of transactions older than the reader's snapshot
/// xmin: every such transaction has ended, so no row can commit later
/// behind the cursor (identity values are not handed out in commit order
/// across nodes). On SQLite, row ids are in commit order (one writer).
statement audit_after(backend engine, const audit_cursor& from,
                      std::int64_t limit);
std::vector<audit_row> decode_audit_rows(const rowset& rs);

/// Moves the cursor from `from` to `to`, failing the unit with
/// "cursor_moved" when another process (node) moved it first: the unit
/// that inserts the deliveries of those rows then inserts nothing.
statement advance_cursor(const audit_cursor& from, const audit_cursor& to);

/// SQLite: the rows read after `from` up to `to` are still `count` rows
/// (fails "audit_changed" otherwise). The DB actor's reads share the
/// connection with its open group, so they see audit rows not committed
/// yet; should that group roll back, the deliveries derived from them must
/// not commit either.
statement audit_rows_still(const audit_cursor& from, const audit_cursor& to,
                           std::int64_t count);

// -- claiming
// ------------------------------------------------------------------

/// Leases up to `batch` deliveries to `owner` until `lease_until` and
/// counts the attempt: pending ones due at `now`, and delivering ones whose
/// lease ran out (a process that stopped mid-delivery), skipping endpoints
/// in `open_ids` (open circuits; our own uuids). Oldest due first. On
/// PostgreSQL FOR UPDATE SKIP LOCKED, so nodes take disjoint rows.
statement claim_due(backend engine, std::int64_t now, std::int64_t lease_until,
                    const std::string& owner,
                    const std::vector<std::string>& open_ids,
                    std::int64_t batch);
std::vector<claimed_delivery> decode_claimed(const rowset& rs);

/// SQLite, at start: deliveries a stopped process left delivering are
/// pending again at once (one process per database file, so none of them
/// is in flight). PostgreSQL leaves them to their leases: another node may
/// be delivering them.
statement requeue_interrupted();

/// The endpoint went away or was disabled, or the lease is too short for
/// another attempt: the delivery waits (pending, the attempt not counted)
/// until `next_attempt_at`; only while `owner` still holds it.
statement park(const std::string& id, const std::string& owner,
               std::int64_t next_attempt_at);

// -- outcomes ----------------------------------------------------------------

/// The receiver answered 2xx at `now`.
statement mark_succeeded(const std::string& id, std::int64_t status_code,
                         std::int64_t now);

/// Given up (the retry deadline passed). `status_code` 0: no HTTP answer.
statement mark_failed(const std::string& id, std::int64_t status_code,
                      const std::string& error);

/// A failed attempt: due again at `next_attempt_at`; only while `owner`
/// still holds the delivery.
statement reschedule(const std::string& id, const std::string& owner,
                     std::int64_t status_code, const std::string& error,
                     std::int64_t next_attempt_at);

// -- reads -------------------------------------------------------------------

/// The deliveries to `endpoint_id`, oldest first.
statement deliveries_to(const std::string& endpoint_id);
std::vector<delivery_state> decode_deliveries(const rowset& rs);

// -- retention ---------------------------------------------------------------

/// Removes finished deliveries (succeeded or failed) created before
/// `cutoff`; pending ones are work, never purged.
statement purge_finished(std::int64_t cutoff);

// -- admin --

/// An endpoint as the admin API shows it (never its secret).
struct admin_endpoint {
  std::string id;
  std::string url;
  std::string event_types; ///< JSON array text (may be malformed)
  bool enabled = true;
  std::int64_t created_at = 0;
};

/// A delivery as the admin API shows it (never its payload).
struct admin_delivery {
  std::string id;
  std::string endpoint_id;
  std::string event_type;
  std::string status;
  std::int64_t attempts = 0;
  std::optional<std::int64_t> last_status_code;
  std::optional<std::string> last_error;
  std::int64_t next_attempt_at = 0;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> delivered_at;
};

/// Reads every endpoint, oldest first.
statement admin_list_endpoints();

/// Reads one endpoint by id.
statement admin_get_endpoint(const std::string& id);

/// The endpoints of admin_list_endpoints() or admin_get_endpoint().
std::vector<admin_endpoint> decode_admin_endpoints(const rowset& rs);

/// The endpoint of admin_get_endpoint(); store_errc::not_found when none.
result<admin_endpoint> decode_admin_endpoint(const rowset& rs);

/// Adds an endpoint with its sealed signing secret.
unit admin_create_endpoint(const admin_endpoint& e,
                           const std::string& secret_enc);

/// Removes an endpoint (its deliveries go by cascade); fails "not_found".
unit admin_delete_endpoint(const std::string& id);

/// The outcome of admin_delete_endpoint(): store_errc::not_found for none.
result<done> decode_admin_deleted(const unit_result& r);

/// Reads whether endpoint `id` exists (decode with decode_admin_exists()).
statement admin_endpoint_exists(const std::string& id);

/// The outcome of admin_endpoint_exists(): store_errc::not_found for none.
result<done> decode_admin_exists(const rowset& rs);

/// Reads up to `limit` deliveries of an endpoint, newest first, created
/// before the keyset position (`before_time`, `before_id`).
statement admin_deliveries_page(const std::string& endpoint_id,
                                std::int64_t before_time,
                                const std::string& before_id,
                                std::int64_t limit);

/// The deliveries admin_deliveries_page() read, in its order.
std::vector<admin_delivery> decode_admin_deliveries(const rowset& rs);

} // namespace authsvc::db::webhooks_store
