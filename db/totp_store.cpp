#include "db/totp_store.hpp"

namespace authsvc::db::totp_store {

// -- sessions --

void append_remove_since(unit& u, const std::string& user_id,
                         std::int64_t since) {
  auto uid = value::text(user_id);
  auto t = value::integer(since);
  u.statements.push_back(stmt(
      "DELETE FROM recovery_codes WHERE user_id = ?1 AND EXISTS (SELECT 1 "
      "FROM totp WHERE user_id = ?1 AND COALESCE(confirmed_at, created_at) "
      ">= ?2)",
      {uid, t}));
  u.statements.push_back(
      stmt("DELETE FROM totp WHERE user_id = ? AND "
           "COALESCE(confirmed_at, created_at) >= ? RETURNING user_id",
           {uid, t}));
}

} // namespace authsvc::db::totp_store
