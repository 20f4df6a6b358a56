#include "db/webhooks_store.hpp"

#include "db/decode.hpp"
#include "db/store_errc.hpp"

namespace authsvc::db::webhooks_store {

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
