#include "db/audit_store.hpp"

#include "db/decode.hpp"

namespace authsvc::db::audit_store {

std::vector<stored_event> decode_events(const rowset& rs) {
  return decode_rows(rs, [](const rowset& rs, std::size_t i) {
    return stored_event{rs.at(i, "id").i,
                        rs.at(i, "event_type").s,
                        rs.at(i, "created_at").i,
                        opt_text(rs.at(i, "user_id")),
                        opt_text(rs.at(i, "email")),
                        opt_text(rs.at(i, "ip")),
                        opt_text(rs.at(i, "user_agent")),
                        opt_text(rs.at(i, "request_id")),
                        opt_text(rs.at(i, "actor")),
                        rs.at(i, "success").i != 0,
                        rs.at(i, "metadata").s};
  });
}

// -- the auditor --------------------------------------------------------------

statement insert(const audit_record& e) {
  return stmt("INSERT INTO audit_logs(event_type, created_at, user_id, email, "
              "ip, user_agent, request_id, actor, success, metadata) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {value::text(e.type), value::integer(e.created_at),
               text_or_null(e.user_id), text_or_null(e.email),
               text_or_null(e.ip), text_or_null(e.user_agent),
               text_or_null(e.request_id), text_or_null(e.actor),
               value::integer(e.success ? 1 : 0),
               value::text(e.metadata.empty() ? "{}" : e.metadata)});
}

statement purge_before(std::int64_t cutoff) {
  return stmt("DELETE FROM audit_logs WHERE created_at < ?",
              {value::integer(cutoff)});
}

statement forget_account(const std::string& user_id, const std::string& email,
                         const std::string& hashed) {
  return stmt("UPDATE audit_logs SET email = CASE WHEN email = ?1 THEN ?2 "
              "ELSE email END, user_agent = NULL "
              "WHERE user_id = ?3 OR email = ?1 OR email = ?2",
              {value::text(email), value::text(hashed), text_or_null(user_id)});
}

// -- admin --------------------------------------------------------------------

statement page(const filter& f) {
  // Each absent filter is a NULL parameter. The CASTs give it a type where
  // it first appears: PostgreSQL cannot type a bare `$1 IS NULL` and refuses
  // the statement (SQLite takes either).
  return stmt(
      "SELECT id, event_type, created_at, user_id, email, ip, user_agent, "
      "request_id, actor, success, metadata FROM audit_logs WHERE "
      "(CAST(?1 AS TEXT) IS NULL OR user_id = ?1) AND "
      "(CAST(?2 AS TEXT) IS NULL OR event_type = ?2) AND "
      "(CAST(?3 AS BIGINT) IS NULL OR created_at >= ?3) AND "
      "(CAST(?4 AS BIGINT) IS NULL OR created_at <= ?4) AND "
      "(CAST(?5 AS BIGINT) IS NULL OR success = ?5) AND "
      "(CAST(?6 AS BIGINT) IS NULL OR id < ?6) "
      "ORDER BY id DESC LIMIT ?7",
      {text_or_null(f.user_id), text_or_null(f.type), int_or_null(f.since),
       int_or_null(f.until), int_or_null(f.success), int_or_null(f.before),
       value::integer(f.limit)});
}

// -- command line -------------------------------------------------------------

statement export_range(std::int64_t since, std::int64_t until) {
  return stmt(
      "SELECT id, event_type, created_at, user_id, email, ip, user_agent, "
      "request_id, actor, success, metadata FROM audit_logs WHERE created_at "
      ">= ? "
      "AND (? = 0 OR created_at <= ?) ORDER BY id",
      {value::integer(since), value::integer(until), value::integer(until)});
}

} // namespace authsvc::db::audit_store
