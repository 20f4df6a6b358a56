#include "actors/email_change_flow.hpp"

#include <nlohmann/json.hpp>

#include "actors/mail_job.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/otp_code.hpp"
#include "core/utc_time.hpp"
#include "db/flows_store.hpp"
#include "db/users_store.hpp"
#include "mail/locale.hpp"

namespace authsvc::email_change_detail {

namespace store = db::email_change_store;

const char* to_string(request_kind k) {
  switch (k) {
  case request_kind::change:
    return "change";
  case request_kind::in_use:
    return "in_use";
  case request_kind::same_address:
    return "same_address";
  case request_kind::suppressed:
    return "suppressed";
  case request_kind::gone:
    return "gone";
  }
  return "unknown";
}

request_kind decide(const config::settings& cfg,
                    const store::request_facts& facts,
                    const std::string& user_id, const std::string& new_email,
                    std::int64_t now) {
  if (facts.current_email.empty())
    return request_kind::gone;
  if (facts.current_email == new_email || facts.owner_id == user_id)
    return request_kind::same_address;
  // The caps of the new mailbox come before the owner check, so a spent
  // budget hides nothing either: no mail, the same answer.
  if (facts.sent_last_hour >= cfg.auth.email_hourly_cap
      || now - facts.last_sent < cfg.auth.email_min_interval)
    return request_kind::suppressed;
  if (!facts.owner_id.empty())
    return request_kind::in_use;
  return request_kind::change;
}

db::statement request_facts(const email_change_input& in, std::int64_t now) {
  return store::read_request_facts(in.user.id, in.new_email,
                                   auth::send_budget_key(in.new_email),
                                   now - 3600);
}

db::unit plan_request(const services& svc, const requester& who,
                      const email_change_input& in,
                      const store::request_facts& facts, std::int64_t now,
                      email_change_outcome& out) {
  const auto& cfg = *svc.cfg;
  auto kind = decide(cfg, facts, in.user.id, in.new_email, now);
  bool mails = kind == request_kind::change || kind == request_kind::in_use;
  auto id = auth::uuid_v4();
  auto link_token = auth::random_token(32);
  auto cancel_token = auth::random_token(32);
  auto code = auth::generate_otp_code(6);
  store::new_change c;
  c.id = id;
  c.user_id = in.user.id;
  c.session_id = in.session_id;
  c.old_email
      = facts.current_email.empty() ? in.user.email : facts.current_email;
  c.new_email = in.new_email;
  c.link_hash = auth::token_hash(link_token);
  // A taken address gets a row that waits like any other, but its code is
  // nobody's: the hash of a secret that was never sent cannot match a
  // 6-digit code, so the requester's guesses fail exactly as wrong codes do.
  c.code_hash = kind == request_kind::change
                    ? auth::hash_otp_code(svc.keys->code_hmac, id, code)
                    : auth::token_hash(auth::random_token(32));
  c.cancel_hash = auth::token_hash(cancel_token);
  c.mailed = mails;
  c.budget_key = auth::send_budget_key(in.new_email);
  c.ip = who.ip;
  c.user_agent = who.user_agent;
  c.status = mails ? "pending" : "dead";
  c.created_at = now;
  c.expires_at = now + cfg.auth.email_flow_ttl;
  c.cancel_until = now + cancel_window;
  db::unit u;
  if (mails) {
    // The read above only decides: a start or another change to the new
    // mailbox, on this node or another, may spend its budget before this
    // unit runs. The guard fails the unit with "send_cap" then (exact caps,
    // issue 14); the flow writes it again as suppressed. The old address's
    // notice counts against nothing: it is the account's own mailbox and
    // the one warning its owner gets.
    auto engine = cfg.database.url.empty() ? db::backend::sqlite
                                           : db::backend::postgres;
    u.statements = db::flows_store::send_budget_guard(
        engine, c.budget_key, now - 3600, cfg.auth.email_hourly_cap,
        now - cfg.auth.email_min_interval);
  }
  u.statements.push_back(store::supersede_pending(in.user.id));
  u.statements.push_back(store::insert_change(c));
  if (mails) {
    auto user_locale = mail::choose_locale(
        "", in.user.locale, in.accept_language, cfg.mail.default_locale);
    auto device = auth::display_user_agent(who.user_agent);
    nlohmann::json common = {{"ip", who.ip}, {"device", device}};
    if (!in.user.display_name.empty())
      common["display_name"] = in.user.display_name;
    // The old address: the same notice whether or not the new address is
    // free, so the requester's own mailbox tells nothing.
    auto notice = common;
    notice["new_email"] = in.new_email;
    notice["time"] = utc_time(now);
    notice["cancel_link"] = cfg.server.public_url
                            + "/v1/email-change/cancel?token=" + cancel_token;
    u.statements.push_back(mail_job_insert(
        svc, {c.old_email, "email_change_notice", user_locale, notice}, now));
    if (kind == request_kind::change) {
      nlohmann::json confirm
          = {{"link", cfg.server.public_url
                          + "/v1/email-change/confirm?token=" + link_token},
             {"code", code},
             {"lifetime_minutes",
              std::to_string((cfg.auth.email_flow_ttl + 59) / 60)},
             {"ip", who.ip},
             {"device", device}};
      // No greeting by name: the new mailbox may be a stranger's (a typo).
      u.statements.push_back(mail_job_insert(
          svc, {in.new_email, "email_change_confirm", user_locale, confirm},
          now));
    } else {
      // The owner's own language, never the requester's (no greeting: the
      // requester's name is not theirs).
      auto owner_locale = mail::choose_locale("", facts.owner_locale, "",
                                              cfg.mail.default_locale);
      nlohmann::json in_use
          = {{"time", utc_time(now)}, {"ip", who.ip}, {"device", device}};
      u.statements.push_back(mail_job_insert(
          svc, {in.new_email, "email_in_use", owner_locale, in_use}, now));
    }
  }
  out.expires_in = cfg.auth.email_flow_ttl;
  out.kind = to_string(kind);
  out.change_id = id;
  return u;
}

db::unit confirm_unit(db::statement confirm, std::int64_t now) {
  db::unit u;
  u.statements.push_back(std::move(confirm));
  auto uid = db::value::ref(0, "user_id");
  u.statements.push_back(db::users_store::change_email(
      uid, db::value::ref(0, "old_email"), db::value::ref(0, "new_email"), now,
      // Another account took the address (the unique key), or this one
      // moved or was disabled since the request: the state conflicts.
      "conflict"));
  u.statements.push_back(store::end_pending_of(uid));
  u.statements.push_back(db::users_store::read_active_ref(uid, "invalid_link"));
  return u;
}

db::unit cancel_unit(const std::string& token, std::int64_t now) {
  db::unit u;
  u.statements.push_back(
      store::cancel_by_token(auth::token_hash(token), now, "invalid_link"));
  auto uid = db::value::ref(0, "user_id");
  u.statements.push_back(db::users_store::restore_email(
      uid, db::value::ref(0, "new_email"), db::value::ref(0, "old_email"),
      db::value::ref(0, "confirmed_at"), now));
  u.statements.push_back(store::end_pending_of(uid));
  u.statements.push_back(db::users_store::read_active_ref(uid, ""));
  return u;
}

error unit_error(const requester& who, const db::unit_result& r,
                 email_errc fallback) {
  if (r.fail_code == "service_unavailable")
    return db::store_errc::unavailable;
  if (r.fail_code == "conflict" || r.fail_code == "constraint") {
    // The unique address: another account took it since the request.
    note(who, "db_fail", r.fail_code);
    return db::store_errc::constraint;
  }
  if (r.fail_code == "precondition")
    note(who, "db_fail", r.fail_code);
  if (r.fail_code == "invalid_code")
    return email_errc::invalid_code;
  return fallback;
}

result<email_changed> finish_confirm(const services& svc, const requester& who,
                                     const db::unit_result& r,
                                     const char* method) {
  email_changed c;
  c.change = store::decode_change_row(r.results[0]);
  c.user = db::users_store::decode_user(r.results.back());
  // The session cache holds the account: it learns the address at once.
  caf::anon_send(svc.sessions, c.user);
  audit(svc, who, "user.email_change_confirmed", true, c.user.id, c.user.email,
        {{"change_id", c.change.id}, {"method", method}});
  return c;
}

bool code_matches(const services& svc, const std::string& change_id,
                  const std::string& code, const std::string& code_hash) {
  return auth::verify_otp_code(svc.keys->code_hmac, change_id, code, code_hash);
}

std::vector<std::string>
sessions_to_revoke(const std::vector<session_view>& live,
                   const store::change_row& change) {
  // ">=": a session opened in the request's second may be the one its
  // author opened right after it; when in doubt, revoke.
  std::vector<std::string> out;
  for (const auto& s : live)
    if (s.created_at >= change.created_at || s.id == change.session_id)
      out.push_back(s.id);
  return out;
}

} // namespace authsvc::email_change_detail
