#include "db/mail_store.hpp"

namespace authsvc::db::mail_store {

// -- email sign-in --

statement queue_job(const std::string& job_id, const std::string& message_id,
                    const std::string& to_email,
                    const std::string& template_name,
                    const std::string& locale, const std::string& vars_enc,
                    std::int64_t now) {
  return stmt(
      "INSERT INTO mail_jobs(id, message_id, to_email, template, locale, "
      "vars_enc, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
      {value::text(job_id), value::text(message_id), value::text(to_email),
       value::text(template_name), value::text(locale), value::blob(vars_enc),
       value::integer(now), value::integer(now)});
}

} // namespace authsvc::db::mail_store
