#include "actors/totp_flow.hpp"

#include <nlohmann/json.hpp>

#include "actors/mail_job.hpp"
#include "auth/base32.hpp"
#include "auth/cross_device.hpp"
#include "auth/qr_svg.hpp"
#include "auth/recovery_codes.hpp"
#include "auth/secret_box.hpp"
#include "auth/totp.hpp"
#include "core/utc_time.hpp"
#include "db/lockout_store.hpp"

namespace authsvc::totp_flow {

namespace ts = db::totp_store;
namespace ls = db::lockout_store;
using db::value;

bool six_digits(const std::string& s) {
  return s.size() == 6
         && s.find_first_not_of("0123456789") == std::string::npos;
}

namespace {

std::optional<auth::bytes> open_secret(const key_ring& keys,
                                       const std::string& user_id,
                                       const value& sealed) {
  return auth::secret_box::open(keys.totp, auth::to_bytes(sealed.s), user_id);
}

/// The hashes of fresh recovery codes, replacing the old ones in `u`.
void append_recovery_codes(const key_ring& keys, db::unit& u,
                           const std::string& user_id,
                           const std::vector<std::string>& codes,
                           std::int64_t now) {
  std::vector<std::string> hashes;
  hashes.reserve(codes.size());
  for (const auto& c : codes)
    hashes.push_back(recovery_hash(keys, c));
  ts::replace_recovery_codes(u, user_id, hashes, now);
}

} // namespace

// -- enrolment ----------------------------------------------------------------

result<enrolment> plan_enrol(const config::settings& cfg, const key_ring& keys,
                             const std::string& user_id,
                             const std::string& email,
                             const auth::bytes& secret, std::int64_t now) {
  enrolment out;
  out.secret = auth::base32_encode(secret);
  out.otpauth_uri = auth::otpauth_uri(cfg.totp.issuer, email, out.secret);
  auto svg = auth::qr_svg(out.otpauth_uri);
  if (!svg)
    return error{totp_errc::internal, "qr encoding failed"};
  out.qr_svg = std::move(*svg);
  auto sealed = auth::secret_box::seal(keys.totp, secret, user_id);
  // A pending secret is replaced; a confirmed one stays (no row changes).
  out.write = ts::enrol(user_id, auth::to_string(sealed), now);
  return out;
}

result<confirmation> plan_confirm(const services& svc, const std::string& user_id,
                                  const std::optional<ts::totp_state>& pending,
                                  const std::string& code,
                                  const notice_input& notice,
                                  std::vector<std::string> fresh_codes,
                                  std::int64_t now) {
  if (!pending || pending->confirmed)
    return totp_errc::not_pending;
  auto secret = open_secret(*svc.keys, user_id, pending->secret_enc);
  if (!secret)
    return error{totp_errc::internal, "totp secret undecryptable"};
  auto step = auth::verify_totp(*secret, code, now, 1);
  if (!step)
    return totp_errc::invalid_code;
  confirmation out;
  // Only the secret this user saw: a concurrent re-enrolment wins.
  out.write.statements.push_back(ts::confirm(
      user_id, pending->secret_enc, static_cast<std::int64_t>(*step), now));
  out.write.statements.push_back(
      ls::reset_all_sources(value::text(user_id), totp_method));
  append_recovery_codes(*svc.keys, out.write, user_id, fresh_codes, now);
  // The totp_enabled notice in the same unit (the mailer is woken after
  // commit).
  nlohmann::json vars
      = {{"display_name", notice.user.display_name},
         {"time", utc_time(now)},
         {"ip", notice.ip},
         {"device", auth::display_user_agent(notice.user_agent)}};
  out.write.statements.push_back(mail_job_insert(
      svc, {notice.user.email, "totp_enabled", notice.locale, std::move(vars)},
      now));
  out.recovery_codes = std::move(fresh_codes);
  return out;
}

// -- checks of a current code -------------------------------------------------

code_check check_code(const key_ring& keys, const std::string& user_id,
                      const std::optional<ts::totp_state>& t,
                      const std::string& code, std::int64_t now) {
  code_check out;
  if (!t || !t->confirmed)
    return out;
  if (t->locked_until > now) {
    out.result = verdict::locked;
    return out;
  }
  auto secret = open_secret(keys, user_id, t->secret_enc);
  if (!secret) {
    out.result = verdict::undecryptable;
    return out;
  }
  auto last = static_cast<std::uint64_t>(t->last_used_step);
  auto step = auth::verify_totp(*secret, code, now, 1, last);
  if (!step) {
    out.result = verdict::wrong_code;
    return out;
  }
  out.result = verdict::ok;
  out.step = static_cast<std::int64_t>(*step);
  return out;
}

db::unit disable_unit(const std::string& user_id, std::int64_t step) {
  db::unit u;
  // The same code cannot be used twice (it moved last_used_step or not).
  u.statements.push_back(ts::remove(user_id, step));
  u.statements.push_back(ts::remove_recovery_codes(user_id));
  u.statements.push_back(
      ls::reset_all_sources(value::text(user_id), totp_method));
  u.statements.push_back(
      ls::reset_all_sources(value::text(user_id), recovery_method));
  return u;
}

db::unit regenerate_unit(const key_ring& keys, const std::string& user_id,
                         std::int64_t step, const std::string& source,
                         const std::vector<std::string>& fresh_codes,
                         std::int64_t now) {
  db::unit u;
  u.statements.push_back(ts::use_step(user_id, step));
  u.statements.push_back(ls::reset(value::text(user_id), totp_method, source));
  append_recovery_codes(keys, u, user_id, fresh_codes, now);
  return u;
}

db::unit sign_in_unit(const std::string& user_id, std::int64_t step,
                      const std::string& source, std::int64_t now) {
  db::unit u;
  // Of two concurrent uses of one code exactly one moves the step; a lock
  // of this source that landed since the read also refuses.
  u.statements.push_back(ts::use_step_unless_locked(user_id, step, source, now));
  u.statements.push_back(ls::reset(value::text(user_id), totp_method, source));
  return u;
}

// -- recovery codes -----------------------------------------------------------

std::string recovery_hash(const key_ring& keys, const std::string& code) {
  return auth::hash_recovery_code(keys.recovery_pepper,
                                  auth::normalize_recovery_code(code));
}

recovery_verdict check_recovery(const ts::recovery_facts& f,
                                std::int64_t now) {
  if (!f.user)
    return recovery_verdict::unknown;
  if (f.locked_until > now)
    return recovery_verdict::locked;
  if (!f.code_live)
    return recovery_verdict::wrong_code;
  return recovery_verdict::ok;
}

db::unit recovery_unit(const std::string& user_id, const std::string& hash,
                       const std::string& source, std::int64_t now) {
  db::unit u;
  // One statement burns the code: of two concurrent uses one wins.
  u.statements.push_back(ts::burn_recovery_code(user_id, hash, now));
  u.statements.push_back(
      ls::reset(value::text(user_id), recovery_method, source));
  return u;
}

} // namespace authsvc::totp_flow

namespace authsvc::totp_flow::detail {

void count_attempt(const services& svc, const request_hooks& h,
                   const std::string& method, bool ok,
                   const std::string& user_id, const std::string& email,
                   const std::string& reason) {
  caf::anon_send(svc.metrics,
                 metrics::inc("auth_attempts_total",
                              {method, ok ? "success" : "failure"}));
  bool totp = method == totp_method;
  auto type = totp ? (ok ? "totp.verified" : "totp.failed")
                   : (ok ? "recovery.used" : "recovery.failed");
  nlohmann::json meta;
  if (!reason.empty())
    meta = {{"reason", reason}};
  h.audit(type, ok, user_id, email, meta);
}

} // namespace authsvc::totp_flow::detail
