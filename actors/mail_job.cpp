#include "actors/mail_job.hpp"

#include "auth/encoding.hpp"
#include "auth/ids.hpp"
#include "auth/secret_box.hpp"

namespace authsvc {

using db::value;

db::statement mail_job_insert(const services& svc, const mail_request& m,
                              std::int64_t now) {
  auto job_id = auth::uuid_v4();
  auto sealed = auth::secret_box::seal(svc.keys->payloads,
                                       auth::to_bytes(m.vars.dump()), job_id);
  const auto& from = svc.cfg->mail.from;
  auto at = from.rfind('@');
  auto domain = at == std::string::npos ? std::string("localhost")
                                        : from.substr(at + 1);
  return db::stmt(
      "INSERT INTO mail_jobs(id, message_id, to_email, template, locale, "
      "vars_enc, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
      {value::text(job_id), value::text("<" + job_id + "@" + domain + ">"),
       value::text(m.to), value::text(m.template_name), value::text(m.locale),
       value::blob(auth::to_string(sealed)), value::integer(now),
       value::integer(now)});
}

} // namespace authsvc
