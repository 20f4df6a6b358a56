#pragma once
// The webhook_endpoints and webhook_deliveries tables.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/result.hpp"
#include "db/value.hpp"

namespace authsvc::db::webhooks_store {

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
