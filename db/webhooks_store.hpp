#pragma once
// Webhook endpoints and the delivery outbox (webhook_endpoints,
// webhook_deliveries) as the webhook actor sees them: loading endpoints,
// queuing deliveries for an event, claiming due deliveries, recording each
// attempt and the retention purge. Plain functions that build db::statement
// values and decode their rows; the DB actor runs them.
#include <cstdint>
#include <string>
#include <vector>

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

/// Queues one delivery of `payload` to `endpoint_id`, due at `now`.
statement insert_delivery(const std::string& id,
                          const std::string& endpoint_id,
                          const std::string& event_type,
                          const std::string& payload, std::int64_t now);

/// Marks up to `batch` pending deliveries due at `now` as delivering and
/// counts the attempt, skipping endpoints in `open_ids` (open circuits;
/// our own uuids). Oldest due first.
statement claim_due(std::int64_t now, const std::vector<std::string>& open_ids,
                    std::int64_t batch);
std::vector<claimed_delivery> decode_claimed(const rowset& rs);

/// Deliveries a stopped process left delivering are pending again.
statement requeue_interrupted();

/// The endpoint went away or was disabled: the delivery waits (pending,
/// the attempt not counted) until `next_attempt_at`.
statement park(const std::string& id, std::int64_t next_attempt_at);

// -- outcomes ----------------------------------------------------------------

/// The receiver answered 2xx at `now`.
statement mark_succeeded(const std::string& id, std::int64_t status_code,
                         std::int64_t now);

/// Given up (the retry deadline passed). `status_code` 0: no HTTP answer.
statement mark_failed(const std::string& id, std::int64_t status_code,
                      const std::string& error);

/// A failed attempt: due again at `next_attempt_at`.
statement reschedule(const std::string& id, std::int64_t status_code,
                     const std::string& error, std::int64_t next_attempt_at);

// -- reads -------------------------------------------------------------------

/// The deliveries to `endpoint_id`, oldest first.
statement deliveries_to(const std::string& endpoint_id);
std::vector<delivery_state> decode_deliveries(const rowset& rs);

// -- retention ---------------------------------------------------------------

/// Removes finished deliveries (succeeded or failed) created before
/// `cutoff`; pending ones are work, never purged.
statement purge_finished(std::int64_t cutoff);

// -- admin --

} // namespace authsvc::db::webhooks_store
