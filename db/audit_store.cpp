#include "db/audit_store.hpp"

namespace authsvc::db::audit_store {

// -- CLI (sessions) --

statement export_range(std::int64_t since, std::int64_t until) {
  return stmt(
      "SELECT id, event_type, created_at, user_id, email, ip, user_agent, "
      "request_id, actor, success, metadata FROM audit_logs WHERE created_at "
      ">= ? "
      "AND (? = 0 OR created_at <= ?) ORDER BY id",
      {value::integer(since), value::integer(until), value::integer(until)});
}

std::vector<export_row> decode_export(const rowset& rs) {
  std::vector<export_row> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    auto text = [&](const char* c) -> std::optional<std::string> {
      const auto& v = rs.at(i, c);
      if (v.is_null())
        return std::nullopt;
      return v.s;
    };
    export_row r;
    r.id = rs.at(i, "id").i;
    r.type = rs.at(i, "event_type").s;
    r.created_at = rs.at(i, "created_at").i;
    r.user_id = text("user_id");
    r.email = text("email");
    r.ip = text("ip");
    r.user_agent = text("user_agent");
    r.request_id = text("request_id");
    r.actor = text("actor");
    r.success = rs.at(i, "success").i != 0;
    r.metadata = rs.at(i, "metadata").s;
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace authsvc::db::audit_store
