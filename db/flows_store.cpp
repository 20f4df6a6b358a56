#include "db/flows_store.hpp"

namespace authsvc::db::flows_store {

// -- sessions --

statement purge_flows(std::int64_t now) {
  return stmt("DELETE FROM email_flows WHERE expires_at < ?",
              {value::integer(now - 86400)});
}

statement purge_exchange_codes(std::int64_t now) {
  return stmt("DELETE FROM exchange_codes WHERE expires_at < ?",
              {value::integer(now)});
}

statement remove_flows_of(const std::string& email) {
  return stmt("DELETE FROM email_flows WHERE email = ?", {value::text(email)});
}

} // namespace authsvc::db::flows_store
