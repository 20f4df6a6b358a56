#pragma once
// Admin API keys (`admin_api_keys`, stored as HMACs of the key): the
// statements that create, list, revoke and check them. Plain functions that
// build db::statement values; the DB actor runs them. No other file holds
// admin_api_keys SQL.
#include <optional>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::admin_keys_store {

// -- email sign-in --
// (the front's admin guard; placed with this helper's operations)

/// Reads the id of the unrevoked key whose HMAC is `key_hash`.
statement active_key(const std::string& key_hash);

/// The key id active_key found, if any.
std::optional<std::string> decode_key_id(const rowset& rs);

// -- CLI (sessions) --

/// Stores a new admin API key by the HMAC of its text (hex).
statement insert_key(const std::string& id, const std::string& name,
                     const std::string& key_hash);

} // namespace authsvc::db::admin_keys_store
