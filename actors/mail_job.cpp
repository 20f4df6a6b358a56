#include "actors/mail_job.hpp"

#include "auth/encoding.hpp"
#include "auth/ids.hpp"
#include "auth/secret_box.hpp"
#include "db/mail_store.hpp"

namespace authsvc {

db::statement mail_job_insert(const services& svc, const mail_request& m,
                              std::int64_t now) {
  return mail_job_insert(*svc.cfg, *svc.keys, m, now);
}

db::statement mail_job_insert(const config::settings& cfg, const key_ring& keys,
                              const mail_request& m, std::int64_t now) {
  auto job_id = auth::uuid_v4();
  auto sealed = auth::secret_box::seal(keys.payloads,
                                       auth::to_bytes(m.vars.dump()), job_id);
  const auto& from = cfg.mail.from;
  auto at = from.rfind('@');
  auto domain = at == std::string::npos ? std::string("localhost")
                                        : from.substr(at + 1);
  return db::mail_store::queue_job(job_id, "<" + job_id + "@" + domain + ">",
                                   m.to, m.template_name, m.locale,
                                   auth::to_string(sealed), now);
}

} // namespace authsvc
