#include "actors/email_start_flow.hpp"

#include <nlohmann/json.hpp>

#include "auth/crypto.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/otp_code.hpp"
#include "auth/secret_box.hpp"
#include "auth/url.hpp"
#include "actors/mail_job.hpp"
#include "mail/locale.hpp"

namespace authsvc {

using db::value;

std::vector<field_problem> check_email_start(
    const config::settings& cfg, const std::optional<std::string>& email_in,
    const std::optional<std::string>& redirect_to, std::string& normalised) {
  std::vector<field_problem> out;
  if (email_in) {
    auto n = auth::normalise_email(*email_in);
    if (n)
      normalised = *n.address;
    else
      out.emplace_back("email", std::string(auth::to_string(n.error)));
  }
  if (redirect_to && !redirect_to->empty()
      && !auth::redirect_allowed(*redirect_to, cfg.auth.redirect_allow_list))
    out.emplace_back("redirect_to", "is not in the redirect allow list");
  return out;
}

namespace email_start_detail {

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

db::statement facts(const std::string& email, std::int64_t now) {
  // One read for everything the decision needs, then one write: the same
  // two round trips whether or not the address has an account, so the
  // answer's timing does not tell. The send caps count per mailbox
  // (budget_key), so plus-tag variants of one address share its budget.
  return db::stmt(
      "SELECT (SELECT id FROM users WHERE email = ?1 AND disabled = 0) AS "
      "user_id,"
      " (SELECT locale FROM users WHERE email = ?1) AS user_locale,"
      " (SELECT COUNT(*) FROM email_flows WHERE budget_key = ?3 AND mailed = 1"
      "  AND created_at > ?2) AS sent_last_hour,"
      " (SELECT COALESCE(MAX(created_at), 0) FROM email_flows WHERE"
      "  budget_key = ?3 AND mailed = 1) AS last_sent",
      {value::text(email), value::integer(now - 3600),
       value::text(auth::send_budget_key(email))});
}

db::unit plan(const services& svc, const email_start_input& in,
              const db::rowset& rs, std::int64_t now,
              email_start_outcome& out) {
  const auto& cfg = *svc.cfg;
  const auto& email = in.email;
  bool known = !rs.at(0, "user_id").is_null();
  std::string suppressed;
  if (!known && !cfg.auth.allow_signup)
    suppressed = "signup_disabled";
  else if (rs.at(0, "sent_last_hour").i >= cfg.auth.email_hourly_cap)
    suppressed = "hourly_cap";
  else if (now - rs.at(0, "last_sent").i < cfg.auth.email_min_interval)
    suppressed = "min_interval";
  bool send = suppressed.empty();
  auto flow_id = auth::uuid_v4();
  auto flow_secret = auth::random_token(32);
  auto link_token = auth::random_token(32);
  auto code = auth::generate_otp_code(6);
  auto match = auth::generate_match_number();
  auto choices = auth::encode_match_choices(auth::make_match_choices(match));
  auto expires = now + cfg.auth.email_flow_ttl;
  auto chosen
      = mail::choose_locale(in.locale.value_or(""), rs.at(0, "user_locale").s,
                            in.accept_language, cfg.mail.default_locale);
  db::unit u;
  u.statements.push_back(db::stmt(
      "INSERT INTO email_flows(id, email, flow_secret_hash, link_hash, "
      "code_hash, redirect_to, locale, ip, user_agent, status, mailed, "
      "created_at, expires_at, match_number, match_choices, budget_key) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
      {value::text(flow_id), value::text(email),
       value::text(auth::token_hash(flow_secret)),
       value::text(auth::token_hash(link_token)),
       value::text(auth::hash_otp_code(svc.keys->code_hmac, flow_id, code)),
       in.redirect_to && !in.redirect_to->empty() ? value::text(*in.redirect_to)
                                                  : value::null(),
       value::text(chosen), value::text(in.ip), value::text(in.user_agent),
       value::text(send ? "pending" : "dead"), value::integer(send ? 1 : 0),
       value::integer(now), value::integer(expires), value::integer(match),
       value::text(choices), value::text(auth::send_budget_key(email))}));
  if (send) {
    nlohmann::json vars
        = {{"link",
            cfg.server.public_url + "/v1/auth/email/link?token=" + link_token},
           {"code", code},
           {"lifetime_minutes",
            std::to_string((cfg.auth.email_flow_ttl + 59) / 60)},
           {"ip", in.ip},
           {"device", auth::display_user_agent(in.user_agent)}};
    u.statements.push_back(
        mail_job_insert(svc, {email, "sign_in", chosen, std::move(vars)}, now));
  }
  out.flow_id = flow_id;
  out.flow_secret = flow_secret;
  out.match_number = match;
  out.expires_in = expires - now;
  out.suppressed = suppressed;
  return u;
}

void finish(const services& svc, const email_start_input& in,
            const email_start_outcome& out) {
  bool send = out.suppressed.empty();
  audit_event e;
  e.type = "email.sign_in_requested";
  e.success = send;
  e.email = in.email;
  e.ip = in.ip;
  e.user_agent = in.user_agent;
  e.request_id = in.request_id;
  e.actor = in.actor;
  e.metadata
      = nlohmann::json{{"flow_id", out.flow_id}, {"suppressed", out.suppressed}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  caf::anon_send(svc.auditor, std::move(e));
  if (send)
    caf::anon_send(svc.mailer, atom::wake_atom_v);
  else
    caf::anon_send(svc.metrics, metrics::inc("email_sends_suppressed_total",
                                             {out.suppressed}));
}

} // namespace email_start_detail

} // namespace authsvc
