#include "db/lockout_store.hpp"

namespace authsvc::db::lockout_store {

std::string locked_until_sql(const std::string& user_id_sql,
                             const std::string& m,
                             const std::string& source_sql) {
  return "COALESCE((SELECT locked_until FROM failed_attempts WHERE user_id = "
         + user_id_sql + " AND method = '" + m + "' AND source = " + source_sql
         + "), 0)";
}

std::size_t append_failure(unit& u, const value& user_id,
                           const std::string& method, const std::string& source,
                           std::int64_t now,
                           const auth::lockout_policy& policy) {
  // Lock n lasts lock_duration(n): spelled out as a CASE so the whole
  // decision happens inside the unit.
  std::string durations = "CASE lockouts";
  for (std::uint32_t i = 0; i < 32; ++i) {
    auto d = auth::lock_duration(i, policy);
    durations += " WHEN " + std::to_string(i) + " THEN " + std::to_string(d);
    if (d >= policy.cap_seconds)
      break;
  }
  durations += " ELSE " + std::to_string(policy.cap_seconds) + " END";
  u.statements.push_back(stmt(
      "INSERT INTO failed_attempts(user_id, method, source, failures, "
      "lockouts, locked_until, updated_at) VALUES (?1, ?2, ?5, 1, 0, 0, ?3) "
      "ON CONFLICT(user_id, method, source) DO UPDATE SET "
      // Columns named with their table: PostgreSQL finds a bare name in
      // DO UPDATE ambiguous (it could be `excluded`'s); SQLite accepts both.
      "failures = failed_attempts.failures + 1, "
      // A whole quiet cap since the last lock forgives earlier locks.
      "lockouts = CASE WHEN failed_attempts.locked_until > 0 AND "
      "?3 - failed_attempts.locked_until >= ?4 "
      "THEN 0 ELSE failed_attempts.lockouts END, updated_at = ?3 "
      "WHERE failed_attempts.locked_until <= ?3",
      {user_id, value::text(method), value::integer(now),
       value::integer(policy.cap_seconds), value::text(source)}));
  u.statements.push_back(stmt(
      "UPDATE failed_attempts SET failures = 0, lockouts = lockouts + 1, "
      "locked_until = ?3 + "
          + durations
          + ", updated_at = ?3 "
            "WHERE user_id = ?1 AND method = ?2 AND source = ?5 "
            "AND failures >= ?4 "
            "AND locked_until <= ?3 RETURNING lockouts, locked_until",
      {user_id, value::text(method), value::integer(now),
       value::integer(policy.threshold), value::text(source)}));
  return u.statements.size() - 1;
}

lock_record decode_lock(const rowset& rs) {
  return {rs.at(0, "lockouts").i, rs.at(0, "locked_until").i};
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

unit unlock_unit(const std::string& user_id) {
  unit u;
  u.statements.push_back(stmt("DELETE FROM failed_attempts WHERE user_id = ?",
                              {value::text(user_id)}));
  return u;
}

unit timing_pad(std::int64_t now) {
  auto t = value::integer(now);
  unit u;
  u.statements.push_back(
      stmt("INSERT INTO timing_pad(id, failures, locked_until, updated_at) "
           "VALUES (1, 1, 0, ?1) ON CONFLICT(id) DO UPDATE SET "
           "failures = (timing_pad.failures + 1) % 1000000, updated_at = ?1 "
           "WHERE timing_pad.locked_until <= ?1",
           {t}));
  u.statements.push_back(stmt(
      "UPDATE timing_pad SET failures = 0, locked_until = ?1, updated_at = ?1 "
      "WHERE id = 1 AND failures >= ?2 AND locked_until <= ?1 "
      "RETURNING failures, locked_until",
      {t, value::integer(1000000)}));
  return u;
}

} // namespace authsvc::db::lockout_store
