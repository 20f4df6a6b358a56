#include "db/admin_keys_store.hpp"

namespace authsvc::db::admin_keys_store {

// -- CLI (sessions) --

statement insert_key(const std::string& id, const std::string& name,
                     const std::string& key_hash) {
  return stmt("INSERT INTO admin_api_keys(id, name, key_hash, created_at) "
              "VALUES (?, ?, ?, strftime('%s','now'))",
              {value::text(id), value::text(name), value::text(key_hash)});
}

} // namespace authsvc::db::admin_keys_store
