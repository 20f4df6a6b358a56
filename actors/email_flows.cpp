#include "actors/email_flows.hpp"

#include "auth/encoding.hpp"
#include "auth/ids.hpp"
#include "auth/otp_code.hpp"
#include "auth/secret_box.hpp"

namespace authsvc::email_flows_detail {

namespace {

/// The statement codes of the email units, back as their enum.
std::optional<email_errc> from_fail_code(const std::string& code) {
  if (code == "invalid_link")
    return email_errc::invalid_link;
  if (code == "invalid_code")
    return email_errc::invalid_code;
  if (code == "flow_expired")
    return email_errc::flow_expired;
  if (code == "invalid_exchange_code")
    return email_errc::invalid_exchange_code;
  return std::nullopt;
}

} // namespace

void count_attempt(const services& svc, const requester& who,
                   const char* method, bool ok, const std::string& user_id,
                   const std::string& email) {
  caf::anon_send(svc.metrics,
                 metrics::inc("auth_attempts_total",
                              {method, ok ? "success" : "failure"}));
  std::string m = method;
  audit(svc, who,
        m == "otp" ? (ok ? "email.code_verified" : "email.code_failed")
                   : (ok ? "email.link_verified" : "email.link_failed"),
        ok, user_id, email);
}

error link_unit_error(const db::unit_result& r) {
  if (r.fail_code == "service_unavailable")
    return db::store_errc::unavailable;
  return email_errc::invalid_link;
}

error unit_error(const requester& who, const db::unit_result& r,
                 email_errc fallback) {
  if (r.fail_code == "constraint" || r.fail_code == "precondition") {
    note(who, "db_fail", r.fail_code);
    return fallback;
  }
  return from_fail_code(r.fail_code).value_or(fallback);
}

bool code_matches(const services& svc, const std::string& flow_id,
                  const std::string& code, const std::string& code_hash) {
  return auth::verify_otp_code(svc.keys->code_hmac, flow_id, code, code_hash);
}

db::unit link_sign_in_unit(const std::string& token, std::int64_t now) {
  // One statement consumes the token: of two concurrent clicks, exactly one
  // sees its row.
  db::unit u;
  u.statements.push_back(db::flows_store::collect_by_link(
      auth::token_hash(token), now, "invalid_link"));
  db::users_store::append_sign_up(u, db::value::ref(0, "email"),
                                  auth::uuid_v4(), now, "invalid_link");
  return u;
}

db::unit code_sign_in_unit(const requester& who, const std::string& flow_id,
                           std::int64_t now) {
  db::unit u;
  u.statements.push_back(
      db::flows_store::collect_by_code(flow_id, now, "flow_expired"));
  auto user = db::users_store::append_sign_up(
      u, db::value::ref(0, "email"), auth::uuid_v4(), now, "invalid_code");
  u.statements.push_back(db::lockout_store::reset(
      db::value::ref(static_cast<std::int64_t>(user), "id"), "email_code",
      who.source));
  return u;
}

db::unit exchange_unit(const std::string& flow_id,
                       const std::string& secret_hash, std::int64_t now) {
  db::unit u;
  u.statements.push_back(
      db::flows_store::collect_approved(flow_id, secret_hash, "flow_expired"));
  db::users_store::append_sign_up(u, db::value::ref(0, "email"),
                                  auth::uuid_v4(), now, "flow_expired");
  return u;
}

result<done> finish_approve(const services& svc, const requester& who,
                            const db::rowset& row) {
  auto flow = db::flows_store::decode_consumed(row);
  nlohmann::json meta = {{"flow_id", flow.id}};
  if (flow.status != "approved") {
    meta["reason"] = "wrong_number";
    audit(svc, who, "email.handover_refused", false, {}, flow.email, meta);
    caf::anon_send(svc.metrics, metrics::inc("auth_attempts_total",
                                             {"magic_link", "failure"}));
    return email_errc::handover_refused;
  }
  audit(svc, who, "email.handover_approved", true, {}, flow.email, meta);
  return done{};
}

result<done> finish_deny(const services& svc, const requester& who,
                         const db::rowset& row) {
  auto flow = db::flows_store::decode_consumed(row);
  audit(svc, who, "email.sign_in_reported", true, {}, flow.email,
        {{"flow_id", flow.id}, {"requester_ip", flow.ip}});
  return done{};
}

result<bool>
check_exchange(const std::optional<db::flows_store::exchange_view>& v,
               const std::string& secret_hash, std::int64_t now) {
  if (!v
      || !auth::constant_time_equal(std::string_view(v->flow_secret_hash),
                                    std::string_view(secret_hash))
      || v->expires_at <= now)
    return email_errc::flow_expired;
  if (v->status == "pending")
    return true;
  if (v->status != "approved")
    return email_errc::flow_expired;
  return false;
}

db::unit issue_unit(const services& svc, const std::string& session_id,
                    const std::string& payload, exchange_code_outcome& out) {
  auto code = auth::random_token(32);
  auto now = svc.clock->unix_seconds();
  auto hash = auth::token_hash(code);
  auto sealed = auth::secret_box::seal(svc.keys->payloads,
                                       auth::to_bytes(payload), hash);
  db::unit u;
  u.statements.push_back(db::flows_store::insert_exchange_code(
      hash, session_id, auth::to_string(sealed), now,
      now + svc.cfg->auth.exchange_code_ttl));
  out.code = code;
  return u;
}

void open_payload(const services& svc, const std::string& code_hash,
                  const db::rowset& row, exchange_code_outcome& out) {
  auto plain = auth::secret_box::open(
      svc.keys->payloads,
      auth::to_bytes(db::flows_store::decode_exchange_payload(row)), code_hash);
  if (!plain)
    out.internal_cause = "exchange payload undecryptable";
  else
    out.payload = auth::to_string(*plain);
}

} // namespace authsvc::email_flows_detail
