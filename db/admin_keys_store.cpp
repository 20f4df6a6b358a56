#include "db/admin_keys_store.hpp"

namespace authsvc::db::admin_keys_store {

// -- email sign-in --

statement active_key(const std::string& key_hash) {
  return stmt("SELECT id FROM admin_api_keys WHERE key_hash = ? "
              "AND revoked_at IS NULL",
              {value::text(key_hash)});
}

std::optional<std::string> decode_key_id(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  return rs.at(0, "id").s;
}

// -- CLI (sessions) --

statement insert_key(const std::string& id, const std::string& name,
                     const std::string& key_hash) {
  return stmt("INSERT INTO admin_api_keys(id, name, key_hash, created_at) "
              "VALUES (?, ?, ?, strftime('%s','now'))",
              {value::text(id), value::text(name), value::text(key_hash)});
}

} // namespace authsvc::db::admin_keys_store
