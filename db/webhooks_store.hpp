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
