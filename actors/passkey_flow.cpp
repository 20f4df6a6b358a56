#include "actors/passkey_flow.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "actors/mail_job.hpp"
#include "auth/crypto.hpp"
#include "auth/cross_device.hpp"
#include "auth/encoding.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "auth/webauthn/options.hpp"
#include "auth/webauthn/registration.hpp"
#include "core/log.hpp"
#include "core/utc_time.hpp"
#include "db/lockout_store.hpp"

namespace authsvc::passkey_flow {

namespace ws = db::webauthn_store;
using nlohmann::json;

std::vector<wa::trust_anchor> read_trust_anchors(const std::string& dir) {
  std::vector<wa::trust_anchor> out;
  if (dir.empty())
    return out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".pem")
      continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    if (!text.empty())
      out.push_back({it->path().filename().string(), std::move(text)});
  }
  if (ec)
    log::warn("webauthn", "trust-anchors-unreadable",
              {{"dir", dir}, {"error", ec.message()}});
  return out;
}

anchors_ptr load_trust_anchors(const config::settings& cfg) {
  // Config validation proved the policy name parses.
  auto trust = wa::parse_attestation_trust(cfg.webauthn.attestation_policy)
                   .value_or(wa::attestation_trust::none);
  if (cfg.webauthn.attestation == "none"
      && trust == wa::attestation_trust::none)
    return std::make_shared<const std::vector<wa::trust_anchor>>();
  return std::make_shared<const std::vector<wa::trust_anchor>>(
      read_trust_anchors(cfg.webauthn.trust_anchors_dir));
}

// -- shared pieces ------------------------------------------------------------

auth::bytes user_handle(const std::string& user_id) {
  std::string hex;
  for (char c : user_id)
    if (c != '-')
      hex.push_back(c);
  if (auto b = auth::hex_decode(hex); b && b->size() == 16)
    return *b;
  return auth::to_bytes(user_id);
}

std::vector<std::string> transport_list(const std::string& text) {
  std::vector<std::string> out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string())
        out.push_back(x.get<std::string>());
  return out;
}

std::vector<int> cose_algorithms(const config::settings& cfg) {
  static const std::pair<const char*, int> names[]
      = {{"EdDSA", -8},   {"ES256", -7},  {"ES384", -35}, {"ES512", -36},
         {"PS256", -37},  {"PS384", -38}, {"PS512", -39}, {"RS256", -257},
         {"RS384", -258}, {"RS512", -259}};
  std::vector<int> out;
  for (const auto& a : cfg.webauthn.algorithms)
    for (const auto& [name, alg] : names)
      if (a == name)
        out.push_back(alg);
  return out;
}

json passkey_json(const ws::passkey_record& p) {
  return {
      {"id", p.id},
      {"name", p.name},
      {"created_at", p.created_at},
      {"last_used_at", p.last_used_at ? json(*p.last_used_at) : json(nullptr)},
      {"backed_up", p.backed_up},
      {"transports", transport_list(p.transports)}};
}

namespace {

/// Fills what both ceremonies expect from configuration and the challenge.
void fill_policy(wa::ceremony_policy& p, const config::settings& cfg,
                 const std::string& challenge_b64, const std::string& uv) {
  p.expected_challenge
      = auth::base64url_decode(challenge_b64).value_or(auth::bytes{});
  p.rp_ids = {cfg.webauthn.rp_id};
  p.origins = cfg.webauthn.origins;
  p.require_user_verification = uv == "required";
}

/// The transports every descriptor of a sign-in answer names: all of them,
/// so a passkey's own transports (a USB key, a phone) do not set it apart
/// from a decoy. They are hints; a client asks every authenticator it can
/// reach anyway.
const std::vector<std::string>& any_transport() {
  static const std::vector<std::string> all
      = {"ble", "hybrid", "internal", "nfc", "usb"};
  return all;
}

db::unit challenge_unit(const config::settings& cfg, const std::string& id,
                        const auth::bytes& challenge, const char* purpose,
                        const std::string& user_id, bool discoverable,
                        const std::string& uv, std::int64_t now) {
  ws::new_challenge c;
  c.id = id;
  c.challenge = auth::base64url_encode(challenge);
  c.purpose = purpose;
  c.user_id = user_id;
  c.user_verification = uv;
  c.discoverable = discoverable;
  c.expires_at = now + cfg.webauthn.challenge_ttl;
  return ws::store_challenge(c, now, now - challenge_linger);
}

rejection reject(passkey_errc code, std::string reason,
                 std::string detail = {}) {
  return rejection{code, std::move(reason), std::move(detail)};
}

} // namespace

// -- options (registration and sign-in) ---------------------------------------

result<options_plan> plan_registration_options(
    const config::settings& cfg, const std::string& user_id,
    const user_info& user, const std::vector<ws::credential_ref>& existing,
    auth::bytes challenge, std::string challenge_id, std::int64_t now) {
  const auto& wcfg = cfg.webauthn;
  if (static_cast<std::int64_t>(existing.size()) >= wcfg.max_passkeys)
    return passkey_errc::passkey_limit_reached;
  wa::creation_options_params p;
  p.rp_id = wcfg.rp_id;
  p.rp_name = wcfg.rp_name;
  p.user_id = user_handle(user_id);
  p.user_name = user.email;
  p.user_display_name
      = user.display_name.empty() ? user.email : user.display_name;
  p.challenge = std::move(challenge);
  p.timeout_ms = static_cast<std::uint32_t>(wcfg.challenge_ttl * 1000);
  p.resident_key = wcfg.resident_key;
  p.user_verification = wcfg.user_verification;
  p.attestation = wcfg.attestation;
  p.algorithms = cose_algorithms(cfg);
  for (const auto& c : existing)
    if (auto id = auth::base64url_decode(c.id))
      p.exclude_credentials.push_back({*id, transport_list(c.transports)});
  options_plan out;
  out.challenge_id = std::move(challenge_id);
  out.public_key = wa::make_creation_options(p);
  out.write = challenge_unit(cfg, out.challenge_id, p.challenge, "register",
                             user_id, false, wcfg.user_verification, now);
  return out;
}

std::vector<wa::credential_descriptor>
padded_descriptors(const config::settings& cfg, const std::string& decoy_key,
                   const std::string& email, std::vector<auth::bytes> real) {
  auto target = std::max<std::size_t>(
      static_cast<std::size_t>(cfg.webauthn.max_passkeys), real.size());
  std::vector<std::pair<auth::bytes, wa::credential_descriptor>> keyed;
  auto add = [&](auth::bytes id) {
    auto order = auth::hmac_sha256(decoy_key, "order/" + auth::to_string(id));
    keyed.emplace_back(std::move(order), wa::credential_descriptor{
                                             std::move(id), any_transport()});
  };
  for (auto& id : real)
    add(std::move(id));
  for (std::size_t slot = 0; keyed.size() < target; ++slot)
    add(auth::hmac_sha256(decoy_key,
                          "credential/" + email + "/" + std::to_string(slot)));
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<wa::credential_descriptor> out;
  out.reserve(keyed.size());
  for (auto& [order, d] : keyed)
    out.push_back(std::move(d));
  return out;
}

options_plan plan_login_options(const config::settings& cfg,
                                const std::string& decoy_key,
                                const std::string& email,
                                const ws::login_credentials& creds,
                                auth::bytes challenge, std::string challenge_id,
                                std::int64_t now) {
  const auto& wcfg = cfg.webauthn;
  wa::request_options_params p;
  p.challenge = std::move(challenge);
  p.rp_id = wcfg.rp_id;
  p.timeout_ms = static_cast<std::uint32_t>(wcfg.challenge_ttl * 1000);
  p.user_verification = wcfg.user_verification;
  options_plan out;
  out.challenge_id = std::move(challenge_id);
  if (email.empty()) {
    // Usernameless: the authenticator offers its discoverable credentials.
    // The passkey is then the only factor, so it must verify the user (a
    // PIN or biometric), not just their presence (issue #11, Low).
    p.user_verification = "required";
    out.public_key = wa::make_request_options(p);
    out.write = challenge_unit(cfg, out.challenge_id, p.challenge, "login", {},
                               true, p.user_verification, now);
    return out;
  }
  std::vector<auth::bytes> ids;
  for (const auto& c : creds.credential_ids)
    if (auto id = auth::base64url_decode(c))
      ids.push_back(std::move(*id));
  p.allow_credentials
      = padded_descriptors(cfg, decoy_key, email, std::move(ids));
  out.public_key = wa::make_request_options(p);
  // Bound to this account (or, for an unknown address, to none): another
  // account's passkey cannot answer it.
  out.write = challenge_unit(cfg, out.challenge_id, p.challenge, "login",
                             creds.user_id, false, p.user_verification, now);
  return out;
}

// -- registration -------------------------------------------------------------

std::variant<registration_plan, rejection> plan_registration(
    const services& svc, const std::vector<wa::trust_anchor>& anchors,
    const std::optional<ws::registration_facts>& facts,
    const registration_input& in, const json& credential, std::int64_t now) {
  const auto& cfg = *svc.cfg;
  // Another user's challenge is as good as unknown (and stays theirs).
  if (!facts || facts->user_id != in.user_id)
    return reject(passkey_errc::challenge_not_found, "challenge_not_found");
  if (facts->expires_at <= now)
    return reject(passkey_errc::challenge_expired, "challenge_expired");
  auto parsed = wa::parse_registration_credential(credential);
  if (!parsed)
    return reject(passkey_errc::webauthn_failed, std::string(parsed.reason()),
                  parsed.err().detail());
  wa::registration_options opts;
  fill_policy(opts, cfg, facts->challenge, facts->user_verification);
  opts.attestation.verify_time = now;
  // Only what the options offered (TPM's RS1 is never offered).
  opts.allowed_algorithms = cose_algorithms(cfg);
  // Config validation proved the policy name parses.
  opts.trust = wa::parse_attestation_trust(cfg.webauthn.attestation_policy)
                   .value_or(wa::attestation_trust::none);
  if (cfg.webauthn.attestation != "none"
      || opts.trust != wa::attestation_trust::none)
    opts.attestation.trust_anchors = anchors;
  auto reg = wa::verify_registration(*parsed, opts);
  // A valid attestation the policy does not trust has its own code: the
  // client can do nothing about it but use another authenticator.
  if (!reg && reg.err().code() == wa::errc::attestation_not_trusted)
    return reject(passkey_errc::attestation_not_trusted,
                  std::string(reg.reason()), reg.err().detail());
  if (!reg)
    return reject(passkey_errc::webauthn_failed, std::string(reg.reason()),
                  reg.err().detail());
  if (facts->passkeys >= cfg.webauthn.max_passkeys)
    return reject(passkey_errc::passkey_limit_reached, "passkey_limit_reached");
  ws::new_credential c;
  c.id = auth::base64url_encode(reg->credential_id);
  c.user_id = in.user_id;
  c.public_key = auth::to_string(reg->public_key);
  c.alg = reg->alg;
  c.sign_count = reg->sign_count;
  auto transports
      = reg->transports.empty() ? parsed->transports : reg->transports;
  c.transports = json(transports).dump();
  c.aaguid = wa::format_aaguid(reg->aaguid);
  c.fmt = reg->fmt;
  c.backup_eligible = reg->flags.backup_eligible;
  c.backed_up = reg->flags.backup_state;
  c.user_verified = reg->flags.user_verified;
  c.name = in.name.empty() ? std::string("Passkey") : in.name;
  c.created_at = now;
  registration_plan out;
  out.credential_id = c.id;
  out.fmt = c.fmt;
  out.aaguid = c.aaguid;
  // One unit: consume the challenge, refuse a credential id that is already
  // registered, store within the limit, queue the mail.
  out.write
      = ws::register_credential(in.challenge_id, c, cfg.webauthn.max_passkeys);
  // The "passkey_added" notice, exactly like email_start queues mail.
  json vars = {{"passkey_name", c.name},
               {"time", utc_time(now)},
               {"ip", in.ip},
               {"device", auth::display_user_agent(in.user_agent)},
               {"manage_url", cfg.server.public_url + "/login"}};
  if (!in.user.display_name.empty())
    vars["display_name"] = in.user.display_name;
  out.write.statements.push_back(mail_job_insert(
      svc, {in.user.email, "passkey_added", in.locale, std::move(vars)}, now));
  return out;
}

std::optional<rejection>
registration_unit_failure(const std::string& fail_code) {
  if (fail_code == "challenge_not_found")
    return reject(passkey_errc::challenge_not_found, "challenge_not_found");
  if (fail_code == "credential_already_registered")
    return reject(passkey_errc::webauthn_failed, fail_code);
  if (fail_code == "passkey_limit_reached")
    return reject(passkey_errc::passkey_limit_reached, "passkey_limit_reached");
  return std::nullopt;
}

// -- sign-in ------------------------------------------------------------------

login_plan plan_login(const config::settings& cfg,
                      const std::string& challenge_id,
                      const std::optional<ws::login_facts>& facts,
                      const wa::result<wa::assertion_response>& parsed,
                      const std::string& credential_id,
                      const std::string& source, std::int64_t now) {
  using action = login_plan::action;
  login_plan out;
  auto set = [&out](action a, rejection why, std::string user_id = {}) {
    out.act = a;
    out.why = std::move(why);
    out.user_id = std::move(user_id);
    return out;
  };
  if (!facts)
    return set(action::refuse, reject(passkey_errc::challenge_not_found,
                                      "challenge_not_found"));
  const auto& f = *facts;
  if (f.expires_at <= now)
    return set(action::reject,
               reject(passkey_errc::challenge_expired, "challenge_expired"));
  // A throttled source answers like a bad signature whatever it sent, and
  // its attempt is not checked (nor counted again).
  if (f.source_locked_until > now)
    return set(action::reject, reject(passkey_errc::webauthn_failed,
                                      "signature_invalid", "source locked"));
  // Failures that name no usable credential prove nothing about any
  // account: they count against this source only.
  if (!parsed.ok())
    return set(action::reject_source,
               reject(passkey_errc::webauthn_failed,
                      std::string(parsed.reason()), parsed.err().detail()));
  if (!f.credential_known || f.user_disabled)
    return set(action::reject_source,
               reject(passkey_errc::webauthn_failed, "unknown_credential"));
  const auto& user_id = f.user_id;
  // A challenge issued for an address takes only that account's passkeys
  // (none for an unknown address).
  if (!f.discoverable && f.bound_user != user_id)
    return set(action::reject_source,
               reject(passkey_errc::webauthn_failed, "credential_not_allowed"));
  wa::assertion_options opts;
  fill_policy(opts, cfg, f.challenge, f.user_verification);
  opts.credential.credential_id = parsed->raw_id;
  opts.credential.public_key = auth::to_bytes(f.public_key);
  auto stored = f.sign_count;
  opts.credential.sign_count = static_cast<std::uint32_t>(stored);
  opts.credential.user_handle = user_handle(user_id);
  opts.reject_counter_regression = cfg.webauthn.reject_counter_regression;
  // Usernameless: only the userHandle says whose passkey this is (§7.2 step
  // 6), so it must be there.
  opts.require_user_handle = f.discoverable;
  // Locked for this account from this source: answers exactly like a bad
  // signature, so a lockout tells an attacker nothing (the real check is
  // skipped). The owner elsewhere is not affected.
  if (f.locked_until > now)
    return set(action::reject,
               reject(passkey_errc::webauthn_failed, "signature_invalid",
                      "account locked for this source"),
               user_id);
  auto v = wa::verify_assertion(*parsed, opts);
  if (!v) {
    if (v.err().code() == wa::errc::counter_regression)
      out.counter = counter_regression{stored, -1, true};
    // Failures against a known credential count toward the lock of this
    // account from this source, never the account as a whole: a bad
    // signature proves nothing about the owner.
    return set(action::reject_account,
               reject(passkey_errc::webauthn_failed, std::string(v.reason()),
                      v.err().detail()),
               user_id);
  }
  if (v->counter_regressed)
    out.counter = counter_regression{stored, v->sign_count, false};
  // Keep the highest counter seen, so a clone stays detectable.
  auto count = std::max<std::int64_t>(stored, v->sign_count);
  out.act = action::sign_in;
  out.user_id = user_id;
  out.write = ws::use_credential(challenge_id, credential_id, user_id, count,
                                 v->flags.backup_state, now);
  out.write.statements.push_back(
      db::lockout_store::reset(db::value::text(user_id), "webauthn", source));
  return out;
}

std::optional<rejection> login_unit_failure(const std::string& fail_code) {
  if (fail_code == "challenge_not_found")
    return reject(passkey_errc::challenge_not_found, "challenge_not_found");
  if (fail_code == "unknown_credential")
    return reject(passkey_errc::webauthn_failed, fail_code);
  return std::nullopt;
}

} // namespace authsvc::passkey_flow

namespace authsvc::passkey_flow::detail {

void count_attempt(const services& svc, bool ok) {
  caf::anon_send(svc.metrics,
                 metrics::inc("auth_attempts_total",
                              {"webauthn", ok ? "success" : "failure"}));
}

void flag_counter_regression(const services& svc, const request_hooks& h,
                             const std::string& user_id,
                             const std::string& credential_id,
                             const counter_regression& c) {
  caf::anon_send(svc.metrics,
                 metrics::inc("webauthn_sign_count_regressions_total"));
  h.audit("passkey.counter_regression", false, user_id, {},
          {{"credential_id", credential_id},
           {"stored_count", c.stored},
           {"received_count", c.received},
           {"rejected", c.rejected}});
  log::warn("webauthn", "counter-regression",
            {{"user_id", user_id},
             {"credential_id", credential_id},
             {"stored", c.stored},
             {"received", c.received},
             {"rejected", c.rejected},
             {"request_id", h.request_id}});
}

} // namespace authsvc::passkey_flow::detail
