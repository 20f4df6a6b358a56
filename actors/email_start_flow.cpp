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
#include "actors/requester.hpp"
#include "mail/locale.hpp"

namespace authsvc {

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

db::statement facts(const std::string& email, std::int64_t now) {
  // One read for everything the decision needs, then one write: the same
  // two round trips whether or not the address has an account, so the
  // answer's timing does not tell.
  return db::flows_store::read_start_facts(email, now - 3600,
                                           auth::send_budget_key(email));
}

db::unit plan(const services& svc, const email_start_input& in,
              const db::flows_store::start_facts& facts, std::int64_t now,
              email_start_outcome& out) {
  const auto& cfg = *svc.cfg;
  const auto& email = in.email;
  std::string suppressed;
  if (!facts.known && !cfg.auth.allow_signup)
    suppressed = "signup_disabled";
  else if (facts.sent_last_hour >= cfg.auth.email_hourly_cap)
    suppressed = "hourly_cap";
  else if (now - facts.last_sent < cfg.auth.email_min_interval)
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
      = mail::choose_locale(in.locale.value_or(""), facts.user_locale,
                            in.accept_language, cfg.mail.default_locale);
  db::unit u;
  if (send) {
    auto engine = cfg.database.url.empty() ? db::backend::sqlite
                                           : db::backend::postgres;
    u.statements = db::flows_store::send_budget_guard(
        engine, auth::send_budget_key(email), now - 3600,
        cfg.auth.email_hourly_cap, now - cfg.auth.email_min_interval);
  }
  db::flows_store::new_flow f;
  f.id = flow_id;
  f.email = email;
  f.flow_secret_hash = auth::token_hash(flow_secret);
  f.link_hash = auth::token_hash(link_token);
  f.code_hash = auth::hash_otp_code(svc.keys->code_hmac, flow_id, code);
  if (in.redirect_to && !in.redirect_to->empty())
    f.redirect_to = *in.redirect_to;
  f.locale = chosen;
  f.ip = in.ip;
  f.user_agent = in.user_agent;
  f.status = send ? "pending" : "dead";
  f.mailed = send;
  f.created_at = now;
  f.expires_at = expires;
  f.match_number = match;
  f.match_choices = choices;
  f.budget_key = auth::send_budget_key(email);
  u.statements.push_back(db::flows_store::insert_flow(f));
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
  requester who;
  who.ip = in.ip;
  who.user_agent = in.user_agent;
  who.request_id = in.request_id;
  who.actor = in.actor;
  audit(svc, who, "email.sign_in_requested", send, {}, in.email,
        {{"flow_id", out.flow_id}, {"suppressed", out.suppressed}});
  if (send)
    caf::anon_send(svc.mailer, atom::wake_atom_v);
  else
    caf::anon_send(svc.metrics, metrics::inc("email_sends_suppressed_total",
                                             {out.suppressed}));
}

} // namespace email_start_detail

} // namespace authsvc
