#include "db/ip_filters_store.hpp"

#include "db/decode.hpp"
#include "db/store_errc.hpp"

namespace authsvc::db::ip_filters_store {

namespace {

rule decode_rule(const rowset& rs, std::size_t i) {
  return {rs.at(i, "id").s,
          rs.at(i, "cidr").s,
          rs.at(i, "action").s,
          opt_text(rs.at(i, "reason")),
          opt_text(rs.at(i, "created_by")),
          rs.at(i, "created_at").i};
}

} // namespace

// -- the IP filter owner ------------------------------------------------------

statement load_rules() {
  return stmt("SELECT cidr, action FROM ip_filters ORDER BY created_at, id");
}

std::vector<rule_match> decode_rules(const rowset& rs) {
  return decode_rows(rs, [](const rowset& rs, std::size_t i) {
    return rule_match{rs.at(i, "cidr").s, rs.at(i, "action").s};
  });
}

// -- admin --------------------------------------------------------------------

statement list() {
  return stmt("SELECT id, cidr, action, reason, created_by, created_at FROM "
              "ip_filters ORDER BY created_at, id");
}

statement get(const std::string& id) {
  return stmt("SELECT id, cidr, action, reason, created_by, created_at FROM "
              "ip_filters WHERE id = ?",
              {value::text(id)});
}

std::vector<rule> decode_list(const rowset& rs) {
  return decode_rows(rs, decode_rule);
}

result<rule> decode_one(const rowset& rs) {
  if (rs.empty())
    return store_errc::not_found;
  return decode_rule(rs, 0);
}

statement rule_match_of(const std::string& id) {
  return stmt("SELECT cidr, action FROM ip_filters WHERE id = ?",
              {value::text(id)});
}

unit create(const std::string& id, const std::string& cidr,
            const std::string& action, const std::string& reason,
            const std::string& created_by, std::int64_t now) {
  unit u;
  u.statements.push_back(stmt(
      "INSERT INTO ip_filters(id, cidr, action, reason, created_by, "
      "created_at) "
      "VALUES (?, ?, ?, ?, ?, ?) RETURNING id, cidr, action, reason, "
      "created_by, "
      "created_at",
      {value::text(id), value::text(cidr), value::text(action),
       text_or_null(reason), value::text(created_by), value::integer(now)}));
  u.statements.back().fail_code = "conflict";
  return u;
}

result<rule> decode_created(const unit_result& r) {
  if (!r.ok)
    return {store_errc::constraint, r.fail_code};
  return decode_rule(r.results[0], 0);
}

unit remove(const std::string& id) {
  unit u;
  u.statements.push_back(
      stmt_one("DELETE FROM ip_filters WHERE id = ? RETURNING cidr",
               {value::text(id)}, "not_found"));
  return u;
}

result<std::string> decode_removed(const unit_result& r) {
  if (!r.ok)
    return {store_errc::not_found, r.fail_code};
  return r.results[0].at(0, "cidr").s;
}

} // namespace authsvc::db::ip_filters_store
