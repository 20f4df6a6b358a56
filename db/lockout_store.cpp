#include "db/lockout_store.hpp"

namespace authsvc::db::lockout_store {

// -- passkeys and TOTP --

std::string locked_until(const std::string& user_id_sql, const std::string& m,
                         const std::string& source_sql) {
  return "COALESCE((SELECT locked_until FROM failed_attempts WHERE user_id = "
         + user_id_sql + " AND method = '" + m + "' AND source = " + source_sql
         + "), 0)";
}

statement reset(const value& user_id, const std::string& method,
                const std::string& source) {
  return stmt("DELETE FROM failed_attempts WHERE user_id = ? AND method = "
              "? AND source = ?",
              {user_id, value::text(method), value::text(source)});
}

statement reset_all_sources(const value& user_id, const std::string& method) {
  return stmt("DELETE FROM failed_attempts WHERE user_id = ? AND method = ?",
              {user_id, value::text(method)});
}

} // namespace authsvc::db::lockout_store
