#include "db/mail_store.hpp"

namespace authsvc::db::mail_store {

// -- admin --

statement delete_for_recipient(const std::string& email) {
  return stmt("DELETE FROM mail_jobs WHERE to_email = ?", {value::text(email)});
}

} // namespace authsvc::db::mail_store
