#pragma once
// The admin_api_keys table: admin API keys, stored as the HMAC of the key
// (never the key itself).
#include <optional>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::admin_keys_store {

/// Finds the live (not revoked) key with HMAC `key_hash`.
statement find_live(const std::string& key_hash);

/// The id of the key find_live() found, if any.
std::optional<std::string> decode_key_id(const rowset& rs);

/// Adds a key named `name` (created now, by the database's clock).
statement insert(const std::string& id, const std::string& name,
                 const std::string& key_hash);

} // namespace authsvc::db::admin_keys_store
