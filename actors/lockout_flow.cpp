#include "actors/lockout_flow.hpp"

#include <algorithm>

namespace authsvc::lockout {

auth::lockout_policy policy_from(const config::settings& cfg) {
  auth::lockout_policy p;
  p.threshold = static_cast<std::uint32_t>(cfg.auth.lockout_threshold);
  p.base_seconds = cfg.auth.lockout_duration;
  p.cap_seconds = std::max<std::int64_t>(p.cap_seconds, p.base_seconds);
  return p;
}

} // namespace authsvc::lockout

namespace authsvc::lockout_detail {

void report_lock(const services& svc, const requester& who,
                 const std::string& user_id, const std::string& email,
                 const std::string& method,
                 const db::lockout_store::lock_record& lock) {
  nlohmann::json meta = {{"method", method},
                         {"source", who.source},
                         {"lockouts", lock.lockouts},
                         {"locked_until", lock.locked_until}};
  if (user_id.empty()) {
    audit(svc, who, "source.locked", false, {}, {}, meta);
    caf::anon_send(svc.metrics,
                   metrics::inc("source_lockouts_total", {method}));
    return;
  }
  audit(svc, who, "account.locked", false, user_id, email, meta);
  caf::anon_send(svc.metrics, metrics::inc("account_lockouts_total", {method}));
}

} // namespace authsvc::lockout_detail
