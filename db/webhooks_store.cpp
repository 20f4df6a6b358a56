#include "db/webhooks_store.hpp"

#include "db/decode.hpp"
#include "db/store_errc.hpp"

namespace authsvc::db::webhooks_store {

namespace {

value status_or_null(std::int64_t status_code) {
  return status_code ? value::integer(status_code) : value::null();
}

} // namespace

// -- endpoints ---------------------------------------------------------------

statement endpoints() {
  return stmt("SELECT id, url, secret_enc, event_types, enabled FROM "
              "webhook_endpoints");
}

std::vector<endpoint_row> decode_endpoints(const rowset& rs) {
  std::vector<endpoint_row> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    endpoint_row e;
    e.id = rs.at(i, "id").s;
    e.url = rs.at(i, "url").s;
    e.secret_enc = rs.at(i, "secret_enc").s;
    e.event_types = rs.at(i, "event_types").s;
    e.enabled = rs.at(i, "enabled").i != 0;
    out.push_back(std::move(e));
  }
  return out;
}

statement upsert_config_endpoint(const std::string& url,
                                 const std::string& secret_enc,
                                 const std::string& event_types,
                                 std::int64_t now) {
  return stmt(
      "INSERT INTO webhook_endpoints(id, url, secret_enc, event_types, "
      "enabled, "
      "created_at) VALUES ('config', ?1, ?2, ?3, 1, ?4) ON CONFLICT(id) DO "
      "UPDATE "
      "SET url = ?1, secret_enc = ?2, event_types = ?3, enabled = 1",
      {value::text(url), value::blob(secret_enc), value::text(event_types),
       value::integer(now)});
}

// -- the outbox --------------------------------------------------------------

statement insert_delivery(const std::string& id, const std::string& endpoint_id,
                          const std::string& event_type,
                          const std::string& payload, std::int64_t now,
                          std::int64_t audit_id) {
  return stmt("INSERT INTO webhook_deliveries(id, endpoint_id, "
              "event_type, payload, "
              "next_attempt_at, created_at, audit_id) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)",
              {value::text(id), value::text(endpoint_id),
               value::text(event_type), value::text(payload),
               value::integer(now), value::integer(now),
               audit_id ? value::integer(audit_id) : value::null()});
}

// -- deriving deliveries from the audit trail ---------------------------------

statement cursor() {
  return stmt("SELECT audit_tx, audit_id FROM webhook_cursor "
              "WHERE name = 'audit'");
}

audit_cursor decode_cursor(const rowset& rs) {
  audit_cursor c;
  c.tx = rs.at(0, "audit_tx").i;
  c.id = rs.at(0, "audit_id").i;
  return c;
}

statement audit_after(backend engine, const audit_cursor& from,
                      std::int64_t limit) {
  static const std::string columns
      = "id, event_type, created_at, COALESCE(user_id, '') AS user_id, "
        "COALESCE(ip, '') AS ip, COALESCE(request_id, '') AS request_id, "
        "success, metadata";
  if (engine == backend::postgres)
    return stmt("SELECT CAST(CAST(tx AS TEXT) AS BIGINT) AS tx, " + columns
                    + " FROM audit_logs WHERE tx < "
                      "pg_snapshot_xmin(pg_current_snapshot()) AND "
                      "(tx > CAST(CAST(?1 AS TEXT) AS xid8) OR "
                      "(tx = CAST(CAST(?1 AS TEXT) AS xid8) AND id > ?2)) "
                      "ORDER BY tx, id LIMIT ?3",
                {value::integer(from.tx), value::integer(from.id),
                 value::integer(limit)});
  return stmt("SELECT 0 AS tx, " + columns
                  + " FROM audit_logs WHERE id > ? ORDER BY id LIMIT ?",
              {value::integer(from.id), value::integer(limit)});
}

std::vector<audit_row> decode_audit_rows(const rowset& rs) {
  std::vector<audit_row> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    audit_row r;
    r.tx = rs.at(i, "tx").i;
    r.id = rs.at(i, "id").i;
    r.type = rs.at(i, "event_type").s;
    r.created_at = rs.at(i, "created_at").i;
    r.user_id = rs.at(i, "user_id").s;
    r.ip = rs.at(i, "ip").s;
    r.request_id = rs.at(i, "request_id").s;
    r.success = rs.at(i, "success").i != 0;
    r.metadata = rs.at(i, "metadata").s;
    out.push_back(std::move(r));
  }
  return out;
}

statement advance_cursor(const audit_cursor& from, const audit_cursor& to) {
  return stmt_one("UPDATE webhook_cursor SET audit_tx = ?, audit_id = ? "
                  "WHERE name = 'audit' AND audit_tx = ? AND audit_id = ?",
                  {value::integer(to.tx), value::integer(to.id),
                   value::integer(from.tx), value::integer(from.id)},
                  "cursor_moved");
}

statement audit_rows_still(const audit_cursor& from, const audit_cursor& to,
                           std::int64_t count) {
  return stmt_one(
      "SELECT 1 AS still FROM (SELECT COUNT(*) AS n FROM "
      "audit_logs WHERE id > ? AND id <= ?) AS c WHERE c.n = ?",
      {value::integer(from.id), value::integer(to.id), value::integer(count)},
      "audit_changed");
}

// -- claiming
// ------------------------------------------------------------------

statement claim_due(backend engine, std::int64_t now, std::int64_t lease_until,
                    const std::string& owner,
                    const std::vector<std::string>& open_ids,
                    std::int64_t batch) {
  std::string open = "''";
  for (const auto& id : open_ids)
    open += ",'" + id + "'"; // ids are our own uuids: safe to inline
  // As mail_store::claim_due: PostgreSQL locks the picked rows and skips
  // those another node's claim holds.
  std::string lock
      = engine == backend::postgres ? " FOR UPDATE SKIP LOCKED" : "";
  return stmt(
      "UPDATE webhook_deliveries SET status = 'delivering', "
      "lease_until = ?, lease_owner = ?, attempts = attempts + 1 "
      "WHERE id IN (SELECT id FROM webhook_deliveries WHERE "
      "((status = 'pending' AND next_attempt_at <= ?) OR "
      "(status = 'delivering' AND COALESCE(lease_until, 0) < ?)) "
      "AND endpoint_id NOT IN ("
          + open + ") ORDER BY next_attempt_at, created_at LIMIT ?" + lock
          + ") RETURNING id, endpoint_id, payload, attempts, "
            "created_at, lease_until",
      {value::integer(lease_until), value::text(owner), value::integer(now),
       value::integer(now), value::integer(batch)});
}

std::vector<claimed_delivery> decode_claimed(const rowset& rs) {
  std::vector<claimed_delivery> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    claimed_delivery d;
    d.id = rs.at(i, "id").s;
    d.endpoint_id = rs.at(i, "endpoint_id").s;
    d.payload = rs.at(i, "payload").s;
    d.attempts = rs.at(i, "attempts").i;
    d.created_at = rs.at(i, "created_at").i;
    d.lease_until = rs.at(i, "lease_until").i;
    out.push_back(std::move(d));
  }
  return out;
}

statement requeue_interrupted() {
  return stmt("UPDATE webhook_deliveries SET status = 'pending', "
              "lease_until = NULL WHERE status = 'delivering'");
}

statement park(const std::string& id, const std::string& owner,
               std::int64_t next_attempt_at) {
  return stmt(
      "UPDATE webhook_deliveries SET status = 'pending', "
      "attempts = attempts - 1, next_attempt_at = ?, "
      "lease_until = NULL WHERE id = ? AND status = 'delivering' "
      "AND lease_owner = ?",
      {value::integer(next_attempt_at), value::text(id), value::text(owner)});
}

// -- outcomes ----------------------------------------------------------------

statement mark_succeeded(const std::string& id, std::int64_t status_code,
                         std::int64_t now) {
  return stmt("UPDATE webhook_deliveries SET status = 'succeeded', "
              "last_status_code = ?, last_error = NULL, delivered_at = ? "
              "WHERE id = ?",
              {value::integer(status_code), value::integer(now),
               value::text(id)});
}

statement mark_failed(const std::string& id, std::int64_t status_code,
                      const std::string& error) {
  return stmt("UPDATE webhook_deliveries SET status = 'failed', "
              "last_status_code = ?, last_error = ? WHERE id = ?",
              {status_or_null(status_code), value::text(error),
               value::text(id)});
}

statement reschedule(const std::string& id, const std::string& owner,
                     std::int64_t status_code, const std::string& error,
                     std::int64_t next_attempt_at) {
  return stmt("UPDATE webhook_deliveries SET status = 'pending', "
              "last_status_code = ?, last_error = ?, next_attempt_at = ?, "
              "lease_until = NULL WHERE id = ? AND status = 'delivering' "
              "AND lease_owner = ?",
              {status_or_null(status_code), value::text(error),
               value::integer(next_attempt_at), value::text(id),
               value::text(owner)});
}

// -- reads -------------------------------------------------------------------

statement deliveries_to(const std::string& endpoint_id) {
  return stmt("SELECT id, status, attempts, next_attempt_at, "
              "COALESCE(last_error, '') AS last_error FROM webhook_deliveries "
              "WHERE endpoint_id = ? ORDER BY created_at, id",
              {value::text(endpoint_id)});
}

std::vector<delivery_state> decode_deliveries(const rowset& rs) {
  std::vector<delivery_state> out;
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    delivery_state d;
    d.id = rs.at(i, "id").s;
    d.status = rs.at(i, "status").s;
    d.attempts = rs.at(i, "attempts").i;
    d.next_attempt_at = rs.at(i, "next_attempt_at").i;
    d.last_error = rs.at(i, "last_error").s;
    out.push_back(std::move(d));
  }
  return out;
}

// -- retention ---------------------------------------------------------------

statement purge_finished(std::int64_t cutoff) {
  return stmt("DELETE FROM webhook_deliveries WHERE status IN "
              "('succeeded', 'failed') "
              "AND created_at < ?",
              {value::integer(cutoff)});
}

// -- admin --

statement admin_list_endpoints() {
  return stmt("SELECT id, url, event_types, enabled, created_at FROM "
              "webhook_endpoints ORDER BY created_at, id");
}

statement admin_get_endpoint(const std::string& id) {
  return stmt("SELECT id, url, event_types, enabled, created_at FROM "
              "webhook_endpoints WHERE id = ?",
              {value::text(id)});
}

std::vector<admin_endpoint> decode_admin_endpoints(const rowset& rs) {
  return decode_rows(rs, [](const rowset& rs, std::size_t i) {
    return admin_endpoint{rs.at(i, "id").s, rs.at(i, "url").s,
                          rs.at(i, "event_types").s, rs.at(i, "enabled").i != 0,
                          rs.at(i, "created_at").i};
  });
}

result<admin_endpoint> decode_admin_endpoint(const rowset& rs) {
  if (rs.empty())
    return store_errc::not_found;
  return decode_admin_endpoints(rs).front();
}

unit admin_create_endpoint(const admin_endpoint& e,
                           const std::string& secret_enc) {
  unit u;
  u.statements.push_back(
      stmt("INSERT INTO webhook_endpoints(id, url, secret_enc, "
           "event_types, enabled, "
           "created_at) VALUES (?, ?, ?, ?, ?, ?)",
           {value::text(e.id), value::text(e.url), value::blob(secret_enc),
            value::text(e.event_types), value::integer(e.enabled ? 1 : 0),
            value::integer(e.created_at)}));
  return u;
}

unit admin_delete_endpoint(const std::string& id) {
  unit u;
  u.statements.push_back(stmt_one("DELETE FROM webhook_endpoints WHERE id = ?",
                                  {value::text(id)}, "not_found"));
  return u;
}

result<done> decode_admin_deleted(const unit_result& r) {
  if (!r.ok)
    return {store_errc::not_found, r.fail_code};
  return done{};
}

statement admin_endpoint_exists(const std::string& id) {
  return stmt("SELECT id FROM webhook_endpoints WHERE id = ?",
              {value::text(id)});
}

result<done> decode_admin_exists(const rowset& rs) {
  if (rs.empty())
    return store_errc::not_found;
  return done{};
}

statement admin_deliveries_page(const std::string& endpoint_id,
                                std::int64_t before_time,
                                const std::string& before_id,
                                std::int64_t limit) {
  return stmt("SELECT id, endpoint_id, event_type, status, attempts, "
              "last_status_code, last_error, next_attempt_at, created_at, "
              "delivered_at FROM webhook_deliveries WHERE endpoint_id = ?1 "
              "AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) "
              "ORDER BY created_at DESC, id DESC LIMIT ?4",
              {value::text(endpoint_id), value::integer(before_time),
               value::text(before_id), value::integer(limit)});
}

std::vector<admin_delivery> decode_admin_deliveries(const rowset& rs) {
  return decode_rows(rs, [](const rowset& rs, std::size_t i) {
    return admin_delivery{rs.at(i, "id").s,
                          rs.at(i, "endpoint_id").s,
                          rs.at(i, "event_type").s,
                          rs.at(i, "status").s,
                          rs.at(i, "attempts").i,
                          opt_int(rs.at(i, "last_status_code")),
                          opt_text(rs.at(i, "last_error")),
                          rs.at(i, "next_attempt_at").i,
                          rs.at(i, "created_at").i,
                          opt_int(rs.at(i, "delivered_at"))};
  });
}

} // namespace authsvc::db::webhooks_store
