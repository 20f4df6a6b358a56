#pragma once
// The admin_api_keys table (admin API keys, stored as HMACs).
// Plain functions that build db::statement / db::unit values; the DB actor
// runs them. Sections per area keep parallel work apart.
#include <cstdint>
#include <string>

#include "db/value.hpp"

namespace authsvc::db::admin_keys_store {

// -- CLI (sessions) --

/// Stores a new admin API key by the HMAC of its text (hex).
statement insert_key(const std::string& id, const std::string& name,
                     const std::string& key_hash);

} // namespace authsvc::db::admin_keys_store
