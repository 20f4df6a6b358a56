#include "db/mail_store.hpp"

namespace authsvc::db::mail_store {

// -- sessions --

statement remove_jobs_to(const std::string& email) {
  return stmt("DELETE FROM mail_jobs WHERE to_email = ?", {value::text(email)});
}

} // namespace authsvc::db::mail_store
