#include "db/flows_store.hpp"

namespace authsvc::db::flows_store {

// -- admin --

statement delete_for_email(const std::string& email) {
  return stmt("DELETE FROM email_flows WHERE email = ?", {value::text(email)});
}

} // namespace authsvc::db::flows_store
