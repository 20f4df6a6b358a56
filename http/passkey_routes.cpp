#include "db/users_store.hpp"
#include "http/passkey_routes.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "auth/crypto.hpp"
#include "auth/cross_device.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/secret_box.hpp"
#include "auth/webauthn/assertion.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "auth/webauthn/options.hpp"
#include "auth/webauthn/registration.hpp"
#include "core/log.hpp"
#include "http/lockout.hpp"
#include "actors/mail_job.hpp"
#include "http/route_helpers.hpp"
#include "mail/locale.hpp"

namespace authsvc::http_routes {

namespace {

namespace wa = auth::webauthn;
using db::value;
using nlohmann::json;

/// WebAuthn §13.4.3 asks for at least 16; the issue asks for 32.
constexpr std::size_t challenge_size = 32;
constexpr std::size_t max_name = 100;
/// Expired challenges linger this long before housekeeping drops them, so a
/// late answer still learns "expired" rather than "unknown".
constexpr std::int64_t challenge_linger = 86400;

// -- small helpers ------------------------------------------------------------

/// The WebAuthn user handle of an account: the 16 bytes of its random UUID
/// (no personal data, at most 64 bytes as §5.4.3 demands).
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

/// A passkey as its owner sees it (the Passkey schema of openapi.yaml).
json passkey_json(const db::rowset& rs, std::size_t row) {
  const auto& last = rs.at(row, "last_used_at");
  return {{"id", rs.at(row, "id").s},
          {"name", rs.at(row, "name").s},
          {"created_at", rs.at(row, "created_at").i},
          {"last_used_at", last.is_null() ? json(nullptr) : json(last.i)},
          {"backed_up", rs.at(row, "backed_up").i != 0},
          {"transports", transport_list(rs.at(row, "transports").s)}};
}

constexpr const char* passkey_columns
    = "id, name, created_at, last_used_at, backed_up, transports";

bool valid_name(const std::string& s) {
  if (s.empty())
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F)
      return false;
  return true;
}

void count_attempt(const context_ptr& ctx, bool ok) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("auth_attempts_total",
                              {"webauthn", ok ? "success" : "failure"}));
}

/// The configured COSE algorithms (names validated at start-up).
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

/// Fills what both ceremonies expect from configuration and the challenge.
void fill_policy(wa::ceremony_policy& p, const config::settings& cfg,
                 const std::string& challenge_b64, const std::string& uv) {
  p.expected_challenge
      = auth::base64url_decode(challenge_b64).value_or(auth::bytes{});
  p.rp_ids = {cfg.webauthn.rp_id};
  p.origins = cfg.webauthn.origins;
  p.require_user_verification = uv == "required";
}

/// Every PEM file of `webauthn.trust_anchors_dir` (read per registration:
/// registrations are rare and an operator may add roots while running).
std::vector<wa::trust_anchor> load_trust_anchors(const std::string& dir) {
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

/// The transports every descriptor of a sign-in answer names: all of them,
/// so a passkey's own transports (a USB key, a phone) do not set it apart
/// from a decoy. They are hints; a client asks every authenticator it can
/// reach anyway.
const std::vector<std::string>& any_transport() {
  static const std::vector<std::string> all
      = {"ble", "hybrid", "internal", "nfc", "usb"};
  return all;
}

/// allowCredentials for a sign-in naming `email`, in one shape for every
/// address (issue #11, Medium 2): the account's credential ids (none for an
/// unknown address) padded with decoys to `webauthn.max_passkeys` entries,
/// every entry with the same transports, in an order keyed by the ids (so
/// real ones do not come first). A decoy is an HMAC of the address and its
/// slot under a server key: 32 bytes, like the ids of most platform
/// authenticators, and the same on every call. What stays visible is the
/// length of a real id that is not 32 bytes (an authenticator chooses it),
/// and the entries of an account with more passkeys than the limit allows
/// now (the limit was lowered after they were registered).
std::vector<wa::credential_descriptor>
padded_descriptors(const context_ptr& ctx, const std::string& email,
                   std::vector<auth::bytes> real) {
  const auto& key = ctx->svc().keys->webauthn_decoys;
  auto target = std::max<std::size_t>(
      static_cast<std::size_t>(ctx->cfg().webauthn.max_passkeys), real.size());
  std::vector<std::pair<auth::bytes, wa::credential_descriptor>> keyed;
  auto add = [&](auth::bytes id) {
    auto order = auth::hmac_sha256(key, "order/" + auth::to_string(id));
    keyed.push_back({std::move(order), {std::move(id), any_transport()}});
  };
  for (auto& id : real)
    add(std::move(id));
  for (std::size_t slot = 0; keyed.size() < target; ++slot)
    add(auth::hmac_sha256(key,
                          "credential/" + email + "/" + std::to_string(slot)));
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<wa::credential_descriptor> out;
  for (auto& [order, d] : keyed)
    out.push_back(std::move(d));
  return out;
}

/// Replies with the options and the challenge's id (never cached).
void reply_options(const context_ptr& ctx, const std::string& challenge_id,
                   json public_key) {
  auto res = http::json_response(200, {{"challenge_id", challenge_id},
                                       {"public_key", std::move(public_key)}});
  res.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(res));
}

/// Inserts a challenge (dropping long-expired ones on the way) and then
/// calls `then`.
template <class F>
void store_challenge(const context_ptr& ctx, const std::string& id,
                     const auth::bytes& challenge, const char* purpose,
                     const std::string& user_id, bool discoverable,
                     const std::string& uv, F then) {
  auto now = unix_now();
  db::unit u;
  u.statements.push_back(
      db::stmt("DELETE FROM webauthn_challenges WHERE expires_at < ?",
               {value::integer(now - challenge_linger)}));
  u.statements.push_back(db::stmt(
      "INSERT INTO webauthn_challenges(id, challenge, purpose, user_id, "
      "user_verification, discoverable, created_at, expires_at) "
      "VALUES (?,?,?,?,?,?,?,?)",
      {value::text(id), value::text(auth::base64url_encode(challenge)),
       value::text(purpose),
       user_id.empty() ? value::null() : value::text(user_id), value::text(uv),
       value::integer(discoverable ? 1 : 0), value::integer(now),
       value::integer(now + ctx->cfg().webauthn.challenge_ttl)}));
  db_write(ctx, std::move(u), [ctx, then](db::unit_result& r) mutable {
    if (!r.ok)
      return ctx->reply_internal("challenge insert failed: " + r.fail_code);
    guarded(ctx, [&] { then(); });
  });
}

/// Consumes a challenge whose ceremony failed (it is single use whatever
/// the outcome), then calls `then`.
template <class F>
void consume_then(const context_ptr& ctx, const std::string& id,
                  const char* purpose, F then) {
  db::unit u;
  u.statements.push_back(db::stmt("DELETE FROM webauthn_challenges WHERE id = "
                                  "? AND purpose = ? RETURNING id",
                                  {value::text(id), value::text(purpose)}));
  db_write(ctx, std::move(u), [ctx, then](db::unit_result&) mutable {
    guarded(ctx, [&] { then(); });
  });
}

void reply_webauthn_failed(const context_ptr& ctx, const std::string& reason) {
  ctx->reply_error("webauthn_failed", {}, {{"reason", reason}});
}

/// Reads the `credential` member: required, and an object (what is inside
/// is the verifier's to judge, as 400 webauthn_failed).
std::optional<json> credential_member(const json& body, field_errors& errors) {
  auto it = body.find("credential");
  if (it == body.end() || it->is_null()) {
    errors.add("credential", "is required");
    return std::nullopt;
  }
  if (!it->is_object()) {
    errors.add("credential", "must be an object");
    return std::nullopt;
  }
  return *it;
}

/// A counter that did not advance: an audit event and a metric, whether or
/// not configuration rejects the sign-in.
void flag_counter_regression(const context_ptr& ctx, const std::string& user_id,
                             const std::string& credential_id,
                             std::int64_t stored, std::int64_t received,
                             bool rejected) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("webauthn_sign_count_regressions_total"));
  ctx->audit("passkey.counter_regression", false, user_id, {},
             {{"credential_id", credential_id},
              {"stored_count", stored},
              {"received_count", received},
              {"rejected", rejected}});
  log::warn("webauthn", "counter-regression",
            {{"user_id", user_id},
             {"credential_id", credential_id},
             {"stored", stored},
             {"received", received},
             {"rejected", rejected},
             {"request_id", ctx->request_id}});
}

} // namespace

// -- registration -------------------------------------------------------------

void webauthn_register_options(const context_ptr& ctx) {
  auto user_id = ctx->auth.user_id;
  db_read(ctx,
          db::stmt("SELECT id, transports FROM webauthn_credentials "
                   "WHERE user_id = ? ORDER BY created_at, id",
                   {value::text(user_id)}),
          [ctx, user_id](db::rowset& rs) {
            guarded(ctx, [&] {
              const auto& cfg = ctx->cfg().webauthn;
              if (static_cast<std::int64_t>(rs.rows.size()) >= cfg.max_passkeys)
                return ctx->reply_error("passkey_limit_reached");
              const auto& user = ctx->auth.user;
              wa::creation_options_params p;
              p.rp_id = cfg.rp_id;
              p.rp_name = cfg.rp_name;
              p.user_id = user_handle(user_id);
              p.user_name = user.email;
              p.user_display_name
                  = user.display_name.empty() ? user.email : user.display_name;
              p.challenge = auth::random_bytes(challenge_size);
              p.timeout_ms
                  = static_cast<std::uint32_t>(cfg.challenge_ttl * 1000);
              p.resident_key = cfg.resident_key;
              p.user_verification = cfg.user_verification;
              p.attestation = cfg.attestation;
              p.algorithms = cose_algorithms(ctx->cfg());
              for (std::size_t i = 0; i < rs.rows.size(); ++i) {
                auto id = auth::base64url_decode(rs.at(i, "id").s);
                if (id)
                  p.exclude_credentials.push_back(
                      {*id, transport_list(rs.at(i, "transports").s)});
              }
              auto challenge_id = auth::uuid_v4();
              auto options = wa::make_creation_options(p);
              store_challenge(ctx, challenge_id, p.challenge, "register",
                              user_id, false, cfg.user_verification,
                              [ctx, challenge_id, options] {
                                reply_options(ctx, challenge_id, options);
                              });
            });
          });
}

void webauthn_register_verify(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto challenge_id = errors.string(*body, "challenge_id", true, 64);
  auto name = errors.string(*body, "name", false, max_name);
  if (name && !valid_name(*name))
    errors.add("name",
               "must be 1 to 100 characters without control characters");
  auto credential = credential_member(*body, errors);
  if (errors.reply_if_any(ctx))
    return;
  auto id = *challenge_id;
  auto user_id = ctx->auth.user_id;
  auto chosen_name = name.value_or("");
  // Read the challenge without consuming it: the unit that stores the
  // passkey consumes it, so that of two concurrent answers exactly one wins.
  auto read = db::stmt(
      "SELECT challenge, user_id, user_verification, expires_at, "
      "(SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?2) AS "
      "passkeys "
      "FROM webauthn_challenges WHERE id = ?1 AND purpose = 'register'",
      {value::text(id), value::text(user_id)});
  ctx->self->request(ctx->svc().db, db_timeout, atom::query_atom_v, read)
      .then(
          [ctx, id, user_id, credential, chosen_name](db::rowset& rs) {
            guarded(ctx, [&] {
              auto fail
                  = [ctx, id, user_id](std::string code, std::string reason,
                                       std::string detail) {
                      ctx->log_fields["webauthn_reason"]
                          = reason.empty() ? code : reason;
                      if (!detail.empty())
                        log::info("webauthn", "registration-rejected",
                                  {{"reason", reason.empty() ? code : reason},
                                   {"detail", detail},
                                   {"request_id", ctx->request_id}});
                      ctx->audit("passkey.register_failed", false, user_id, {},
                                 {{"reason", reason.empty() ? code : reason}});
                      consume_then(ctx, id, "register", [ctx, code, reason] {
                        if (code == "webauthn_failed")
                          return reply_webauthn_failed(ctx, reason);
                        ctx->reply_error(code);
                      });
                    };
              // Another user's challenge is as good as unknown (and stays
              // theirs).
              if (rs.empty() || rs.at(0, "user_id").s != user_id) {
                ctx->audit("passkey.register_failed", false, user_id, {},
                           {{"reason", "challenge_not_found"}});
                return ctx->reply_error("challenge_not_found");
              }
              auto now = unix_now();
              if (rs.at(0, "expires_at").i <= now)
                return fail("challenge_expired", {}, {});
              auto parsed = wa::parse_registration_credential(*credential);
              if (!parsed)
                return fail("webauthn_failed", std::string(parsed.reason()),
                            parsed.err().detail());
              const auto& cfg = ctx->cfg();
              wa::registration_options opts;
              fill_policy(opts, cfg, rs.at(0, "challenge").s,
                          rs.at(0, "user_verification").s);
              opts.attestation.verify_time = now;
              // Only what the options offered (TPM's RS1 is never offered).
              opts.allowed_algorithms = cose_algorithms(cfg);
              // Config validation proved the policy name parses.
              opts.trust
                  = wa::parse_attestation_trust(cfg.webauthn.attestation_policy)
                        .value_or(wa::attestation_trust::none);
              if (cfg.webauthn.attestation != "none"
                  || opts.trust != wa::attestation_trust::none)
                opts.attestation.trust_anchors
                    = load_trust_anchors(cfg.webauthn.trust_anchors_dir);
              auto reg = wa::verify_registration(*parsed, opts);
              // A valid attestation the policy does not trust has its own
              // code: the client can do nothing about it but use another
              // authenticator.
              if (!reg
                  && reg.err().code() == wa::errc::attestation_not_trusted)
                return fail("attestation_not_trusted",
                            std::string(reg.reason()), reg.err().detail());
              if (!reg)
                return fail("webauthn_failed", std::string(reg.reason()),
                            reg.err().detail());
              if (rs.at(0, "passkeys").i >= cfg.webauthn.max_passkeys)
                return fail("passkey_limit_reached", {}, {});
              auto cred_id = auth::base64url_encode(reg->credential_id);
              auto transports = reg->transports.empty() ? parsed->transports
                                                        : reg->transports;
              auto pk_name
                  = chosen_name.empty() ? std::string("Passkey") : chosen_name;
              // One unit: consume the challenge, refuse a credential id that is
              // already registered, insert within the limit, queue the mail.
              db::unit u;
              u.statements.push_back(
                  db::stmt_one("DELETE FROM webauthn_challenges WHERE id = ? "
                               "AND purpose = 'register' "
                               "AND user_id = ? RETURNING id",
                               {value::text(id), value::text(user_id)},
                               "challenge_not_found"));
              u.statements.push_back(db::stmt_one(
                  "SELECT 1 AS fresh WHERE NOT EXISTS "
                  "(SELECT 1 FROM webauthn_credentials WHERE id = ?)",
                  {value::text(cred_id)}, "credential_already_registered"));
              u.statements.push_back(db::stmt_one(
                  "INSERT INTO webauthn_credentials(id, user_id, public_key, "
                  "alg, "
                  "sign_count, transports, aaguid, fmt, backup_eligible, "
                  "backed_up, "
                  "user_verified, name, created_at) "
                  "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                  "?13 "
                  "WHERE (SELECT COUNT(*) FROM webauthn_credentials WHERE "
                  "user_id = ?2) < ?14 "
                  "RETURNING id, name, created_at, last_used_at, backed_up, "
                  "transports",
                  {value::text(cred_id), value::text(user_id),
                   value::blob(auth::to_string(reg->public_key)),
                   value::integer(reg->alg), value::integer(reg->sign_count),
                   value::text(json(transports).dump()),
                   value::text(wa::format_aaguid(reg->aaguid)),
                   value::text(reg->fmt),
                   value::integer(reg->flags.backup_eligible ? 1 : 0),
                   value::integer(reg->flags.backup_state ? 1 : 0),
                   value::integer(reg->flags.user_verified ? 1 : 0),
                   value::text(pk_name), value::integer(now),
                   value::integer(cfg.webauthn.max_passkeys)},
                  "passkey_limit_reached"));
              // The "passkey_added" notice, exactly like email_start queues
              // mail.
              const auto& user = ctx->auth.user;
              json vars
                  = {{"passkey_name", pk_name},
                     {"time", utc_time(now)},
                     {"ip", ctx->client_ip},
                     {"device", auth::display_user_agent(user_agent(ctx))},
                     {"manage_url", cfg.server.public_url + "/login"}};
              if (!user.display_name.empty())
                vars["display_name"] = user.display_name;
              u.statements.push_back(
                  mail_job_insert(ctx->svc(),
                                  {user.email, "passkey_added",
                                   notice_locale(ctx, user), std::move(vars)},
                                  now));
              auto fmt = reg->fmt;
              auto aaguid = wa::format_aaguid(reg->aaguid);
              db_write(ctx, std::move(u),
                       [ctx, fail, cred_id, fmt, aaguid](db::unit_result& r) {
                         if (!r.ok) {
                           if (r.fail_code == "challenge_not_found")
                             return ctx->reply_error("challenge_not_found");
                           if (r.fail_code == "credential_already_registered")
                             return fail("webauthn_failed", r.fail_code, {});
                           if (r.fail_code == "passkey_limit_reached")
                             return fail(r.fail_code, {}, {});
                           return ctx->reply_internal("passkey insert failed: "
                                                      + r.fail_code);
                         }
                         ctx->audit("passkey.registered", true, {}, {},
                                    {{"credential_id", cred_id},
                                     {"fmt", fmt},
                                     {"aaguid", aaguid}});
                         caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
                         ctx->reply_json(201, passkey_json(r.results[2], 0));
                       });
            });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

// -- sign-in ------------------------------------------------------------------

void webauthn_login_options(const context_ptr& ctx) {
  std::string email;
  if (!ctx->req.body.empty()) {
    auto body = ctx->json_body();
    if (!body)
      return;
    field_errors errors;
    auto in = errors.string(*body, "email", false, 320);
    if (in) {
      auto n = auth::normalise_email(*in);
      if (n)
        email = *n.address;
      else
        errors.add("email", std::string(auth::to_string(n.error)));
    }
    if (errors.reply_if_any(ctx))
      return;
  }
  const auto& cfg = ctx->cfg().webauthn;
  wa::request_options_params p;
  p.challenge = auth::random_bytes(challenge_size);
  p.rp_id = cfg.rp_id;
  p.timeout_ms = static_cast<std::uint32_t>(cfg.challenge_ttl * 1000);
  p.user_verification = cfg.user_verification;
  auto challenge_id = auth::uuid_v4();
  if (email.empty()) {
    // Usernameless: the authenticator offers its discoverable credentials.
    // The passkey is then the only factor, so it must verify the user (a
    // PIN or biometric), not just their presence (issue #11, Low).
    p.user_verification = "required";
    auto options = wa::make_request_options(p);
    return store_challenge(ctx, challenge_id, p.challenge, "login", {}, true,
                           p.user_verification, [ctx, challenge_id, options] {
                             reply_options(ctx, challenge_id, options);
                           });
  }
  // The same read and the same write whether or not the address has an
  // account or passkeys; only the ids in the answer differ.
  auto read = db::stmt(
      "SELECT u.id AS user_id, c.id AS credential_id FROM users u "
      "LEFT JOIN webauthn_credentials c ON c.user_id = u.id "
      "WHERE u.email = ? AND u.disabled = 0 ORDER BY c.created_at, c.id",
      {value::text(email)});
  db_read(ctx, read, [ctx, email, p, challenge_id](db::rowset& rs) mutable {
    guarded(ctx, [&] {
      auto user_id = rs.empty() ? std::string{} : rs.at(0, "user_id").s;
      std::vector<auth::bytes> ids;
      for (std::size_t i = 0; i < rs.rows.size(); ++i) {
        if (rs.at(i, "credential_id").is_null())
          continue;
        if (auto id = auth::base64url_decode(rs.at(i, "credential_id").s))
          ids.push_back(std::move(*id));
      }
      p.allow_credentials = padded_descriptors(ctx, email, std::move(ids));
      auto options = wa::make_request_options(p);
      // Bound to this account (or, for an unknown address, to none):
      // another account's passkey cannot answer it.
      store_challenge(ctx, challenge_id, p.challenge, "login", user_id, false,
                      p.user_verification, [ctx, challenge_id, options] {
                        reply_options(ctx, challenge_id, options);
                      });
    });
  });
}

void webauthn_login_verify(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto challenge_id = errors.string(*body, "challenge_id", true, 64);
  auto credential = credential_member(*body, errors);
  if (errors.reply_if_any(ctx))
    return;
  auto id = *challenge_id;
  auto parsed = std::make_shared<wa::result<wa::assertion_response>>(
      wa::parse_assertion_credential(*credential));
  auto cred_id = parsed->ok() ? auth::base64url_encode((*parsed)->raw_id)
                              : std::string{};
  // Two locks apply (issue #11, Medium 2), both of this source only: the
  // credential owner's (failures against their credential from here), and
  // the source's own (failures that named no usable credential).
  auto read = db::stmt(
      "SELECT ch.challenge, ch.user_id AS bound_user, ch.discoverable, "
      "ch.user_verification, ch.expires_at, cr.id AS credential_id, "
      "cr.user_id, cr.public_key, cr.sign_count, u.disabled, "
          + lockout::locked_until_sql("cr.user_id", "webauthn", "?3")
          + " AS locked_until, "
          + lockout::locked_until_sql("''", "webauthn", "?3")
          + " AS source_locked_until "
            "FROM webauthn_challenges ch "
            "LEFT JOIN webauthn_credentials cr ON cr.id = ?2 "
            "LEFT JOIN users u ON u.id = cr.user_id "
            "WHERE ch.id = ?1 AND ch.purpose = 'login'",
      {value::text(id), value::text(cred_id),
       value::text(lockout_source(ctx))});
  ctx->self->request(ctx->svc().db, db_timeout, atom::query_atom_v, read)
      .then([ctx, id, parsed, cred_id](db::rowset& rs) {
        guarded(ctx, [&] {
          auto reject = [ctx, id](std::string code, std::string reason,
                                  std::string user_id, std::string detail) {
            auto why = reason.empty() ? code : reason;
            count_attempt(ctx, false);
            ctx->log_fields["webauthn_reason"] = why;
            if (!detail.empty())
              log::info("webauthn", "assertion-rejected",
                        {{"reason", why},
                         {"detail", detail},
                         {"request_id", ctx->request_id}});
            ctx->audit("passkey.rejected", false, user_id, {},
                       {{"reason", why}});
            consume_then(ctx, id, "login", [ctx, code, reason] {
              if (code == "webauthn_failed")
                return reply_webauthn_failed(ctx, reason);
              ctx->reply_error(code);
            });
          };
          if (rs.empty()) {
            count_attempt(ctx, false);
            ctx->audit("passkey.rejected", false, {}, {},
                       {{"reason", "challenge_not_found"}});
            return ctx->reply_error("challenge_not_found");
          }
          auto now = unix_now();
          if (rs.at(0, "expires_at").i <= now)
            return reject("challenge_expired", {}, {}, {});
          // A throttled source answers like a bad signature whatever it
          // sent, and its attempt is not checked (nor counted again).
          if (rs.at(0, "source_locked_until").i > now)
            return reject("webauthn_failed", "signature_invalid", {},
                          "source locked");
          // Failures that name no usable credential prove nothing about
          // any account: they count against this source only.
          auto reject_source = [ctx, reject](std::string reason,
                                             std::string detail) {
            record_source_failure(ctx, "webauthn", [reject, reason, detail] {
              reject("webauthn_failed", reason, {}, detail);
            });
          };
          if (!parsed->ok())
            return reject_source(std::string(parsed->reason()),
                                 parsed->err().detail());
          if (rs.at(0, "credential_id").is_null()
              || rs.at(0, "disabled").i != 0)
            return reject_source("unknown_credential", {});
          auto user_id = rs.at(0, "user_id").s;
          // A challenge issued for an address takes only that account's
          // passkeys (none for an unknown address).
          if (rs.at(0, "discoverable").i == 0
              && rs.at(0, "bound_user").s != user_id)
            return reject_source("credential_not_allowed", {});
          const auto& cfg = ctx->cfg();
          wa::assertion_options opts;
          fill_policy(opts, cfg, rs.at(0, "challenge").s,
                      rs.at(0, "user_verification").s);
          opts.credential.credential_id = (*parsed)->raw_id;
          opts.credential.public_key = auth::to_bytes(rs.at(0, "public_key").s);
          auto stored = rs.at(0, "sign_count").i;
          opts.credential.sign_count = static_cast<std::uint32_t>(stored);
          opts.credential.user_handle = user_handle(user_id);
          opts.reject_counter_regression
              = cfg.webauthn.reject_counter_regression;
          // Usernameless: only the userHandle says whose passkey this is
          // (§7.2 step 6), so it must be there.
          opts.require_user_handle = rs.at(0, "discoverable").i != 0;
          // Locked for this account from this source: answers exactly like
          // a bad signature, so a lockout tells an attacker nothing (the
          // real check is skipped). The owner elsewhere is not affected.
          if (rs.at(0, "locked_until").i > now)
            return reject("webauthn_failed", "signature_invalid", user_id,
                          "account locked for this source");
          auto v = wa::verify_assertion(**parsed, opts);
          if (!v) {
            if (v.err().code() == wa::errc::counter_regression)
              flag_counter_regression(ctx, user_id, cred_id, stored, -1, true);
            // Failures against a known credential count toward the lock of
            // this account from this source, never the account as a whole:
            // a bad signature proves nothing about the owner.
            auto reason = std::string(v.reason());
            auto detail = v.err().detail();
            return record_failure(ctx, user_id, {}, "webauthn",
                                  [reject, reason, user_id, detail] {
                                    reject("webauthn_failed", reason, user_id,
                                           detail);
                                  });
          }
          if (v->counter_regressed)
            flag_counter_regression(ctx, user_id, cred_id, stored,
                                    v->sign_count, false);
          // Keep the highest counter seen, so a clone stays detectable.
          auto count = std::max<std::int64_t>(stored, v->sign_count);
          db::unit u;
          u.statements.push_back(
              db::stmt_one("DELETE FROM webauthn_challenges WHERE id = ? "
                           "AND purpose = 'login' "
                           "RETURNING id",
                           {value::text(id)}, "challenge_not_found"));
          u.statements.push_back(
              db::stmt_one("UPDATE webauthn_credentials SET sign_count = "
                           "?, last_used_at = ?, "
                           "backed_up = ? WHERE id = ? AND user_id = ?",
                           {value::integer(count), value::integer(now),
                            value::integer(v->flags.backup_state ? 1 : 0),
                            value::text(cred_id), value::text(user_id)},
                           "unknown_credential"));
          u.statements.push_back(
              db::stmt_one("SELECT id, email, display_name, locale, "
                           "created_at FROM users "
                           "WHERE id = ? AND disabled = 0",
                           {value::text(user_id)}, "unknown_credential"));
          u.statements.push_back(lockout::reset(
              value::text(user_id), "webauthn", lockout_source(ctx)));
          ctx->self
              ->request(ctx->svc().db, db_timeout, atom::write_atom_v,
                        std::move(u))
              .then(
                  [ctx, reject, cred_id, user_id](db::unit_result& r) {
                    if (!r.ok) {
                      if (r.fail_code == "challenge_not_found") {
                        count_attempt(ctx, false);
                        return ctx->reply_error("challenge_not_found");
                      }
                      if (r.fail_code == "unknown_credential")
                        return reject("webauthn_failed", r.fail_code, user_id,
                                      {});
                      return ctx->reply_internal("passkey sign-in failed: "
                                                 + r.fail_code);
                    }
                    auto user = db::users_store::decode_user(r.results[2]);
                    ctx->self
                        ->request(ctx->svc().sessions, db_timeout,
                                  sign_in_request(ctx, user, "webauthn"))
                        .then(
                            [ctx, user, cred_id](token_result& t) {
                              bool ok = t.error.empty();
                              count_attempt(ctx, ok);
                              ctx->audit("passkey.used", ok, user.id,
                                         user.email,
                                         {{"credential_id", cred_id}});
                              reply_tokens(ctx, t);
                            },
                            [ctx](caf::error& e) { ctx->reply_failure(e); });
                  },
                  [ctx](caf::error& e) { ctx->reply_failure(e); });
        });
      });
}

// -- the user's passkeys ------------------------------------------------------

void passkeys_list(const context_ptr& ctx) {
  db_read(ctx,
          db::stmt(std::string("SELECT ") + passkey_columns
                       + " FROM webauthn_credentials WHERE user_id = ? "
                         "ORDER BY created_at, id",
                   {value::text(ctx->auth.user_id)}),
          [ctx](db::rowset& rs) {
            json list = json::array();
            for (std::size_t i = 0; i < rs.rows.size(); ++i)
              list.push_back(passkey_json(rs, i));
            ctx->reply_json(200, {{"passkeys", list}});
          });
}

void passkey_rename(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto name = errors.string(*body, "name", true, max_name);
  if (name && !valid_name(*name))
    errors.add("name",
               "must be 1 to 100 characters without control characters");
  if (errors.reply_if_any(ctx))
    return;
  auto id = ctx->params["id"];
  db::unit u;
  // Only the owner's: another user's id matches no row, hence 404.
  u.statements.push_back(db::stmt_one(
      std::string("UPDATE webauthn_credentials SET name = ? WHERE id = ? AND "
                  "user_id = ? RETURNING ")
          + passkey_columns,
      {value::text(*name), value::text(id), value::text(ctx->auth.user_id)},
      "not_found"));
  db_write(ctx, std::move(u), [ctx, id](db::unit_result& r) {
    if (!r.ok)
      return reply_db_failure(ctx, r, "not_found");
    ctx->audit("passkey.renamed", true, {}, {}, {{"credential_id", id}});
    ctx->reply_json(200, passkey_json(r.results[0], 0));
  });
}

void passkey_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db::unit u;
  u.statements.push_back(db::stmt_one(
      "DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ? RETURNING "
      "id",
      {value::text(id), value::text(ctx->auth.user_id)}, "not_found"));
  db_write(ctx, std::move(u), [ctx, id](db::unit_result& r) {
    if (!r.ok)
      return reply_db_failure(ctx, r, "not_found");
    ctx->audit("passkey.deleted", true, {}, {}, {{"credential_id", id}});
    no_content(ctx);
  });
}

} // namespace authsvc::http_routes
