#pragma once
// The passkey (WebAuthn) ceremonies as flows, shared by every front end:
// read the facts (one query) -> a pure plan (the functions below: no actors,
// no I/O, unit-tested in tests/unit/passkey_flow_test.cpp) -> one write unit
// -> audit -> notify. The handlers in front/passkey_routes.cpp translate JSON
// to the inputs and the plans' typed outcomes (passkey_errc) to answers.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/db_timeout.hpp"
#include "actors/flow_guard.hpp"
#include "actors/messages.hpp"
#include "actors/passkey_errc.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/type_ids.hpp"
#include "auth/crypto.hpp"
#include "auth/ids.hpp"
#include "auth/result.hpp"
#include "auth/webauthn/assertion.hpp"
#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/options.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "auth/webauthn/result.hpp"
#include "core/log.hpp"
#include "db/webauthn_store.hpp"

namespace authsvc::passkey_flow {

namespace wa = auth::webauthn;

/// The roots of `webauthn.trust_anchors_dir`, read once at start.
using anchors_ptr = std::shared_ptr<const std::vector<wa::trust_anchor>>;

/// Every PEM file of `dir` ("" = none); logs a warning when the folder
/// cannot be read.
std::vector<wa::trust_anchor> read_trust_anchors(const std::string& dir);

/// The anchors registrations need under `cfg` (none unless attestation is
/// asked for or trusted chains are required): what main hands to services.
anchors_ptr load_trust_anchors(const config::settings& cfg);

// -- shared pieces ------------------------------------------------------------

/// WebAuthn §13.4.3 asks for at least 16 bytes; the issue asks for 32.
constexpr std::size_t challenge_size = 32;

/// Expired challenges linger this long before housekeeping drops them, so a
/// late answer still learns "expired" rather than "unknown".
constexpr std::int64_t challenge_linger = 86400;

/// The WebAuthn user handle of an account: the 16 bytes of its random UUID
/// (no personal data, at most 64 bytes as §5.4.3 demands).
auth::bytes user_handle(const std::string& user_id);

/// The transports of a stored JSON array (non-strings skipped).
std::vector<std::string> transport_list(const std::string& text);

/// The configured COSE algorithms (names validated at start-up).
std::vector<int> cose_algorithms(const config::settings& cfg);

/// A passkey as its owner sees it (the Passkey schema of openapi.yaml).
nlohmann::json passkey_json(const db::webauthn_store::passkey_record& p);

/// A refusal: the typed code, its reason (the verifier's, sent in details
/// for webauthn_failed; else the code's api.md name) and a detail for the
/// log only.
struct rejection {
  passkey_errc code = passkey_errc::webauthn_failed;
  std::string reason;
  std::string detail;

  /// What logs and audits name.
  const std::string& why() const { return reason; }
};

// -- options (registration and sign-in) ---------------------------------------

/// A challenge's options and the unit that stores the challenge.
struct options_plan {
  std::string challenge_id;
  nlohmann::json public_key;
  db::unit write;
};

/// Registration options for `user`, excluding their passkeys `existing`;
/// passkey_limit_reached at the limit.
result<options_plan> plan_registration_options(
    const config::settings& cfg, const std::string& user_id,
    const user_info& user,
    const std::vector<db::webauthn_store::credential_ref>& existing,
    auth::bytes challenge, std::string challenge_id, std::int64_t now);

/// Sign-in options: usernameless when `email` is empty (then `creds` is
/// ignored), else bound to the account `creds` names (none for an unknown
/// address), allowCredentials padded with decoys under `decoy_key`.
options_plan
plan_login_options(const config::settings& cfg, const std::string& decoy_key,
                   const std::string& email,
                   const db::webauthn_store::login_credentials& creds,
                   auth::bytes challenge, std::string challenge_id,
                   std::int64_t now);

/// allowCredentials for a sign-in naming `email`, in one shape for every
/// address: the real ids padded with HMAC decoys to `webauthn.max_passkeys`
/// entries, each with every transport, in an order keyed by the ids.
std::vector<wa::credential_descriptor>
padded_descriptors(const config::settings& cfg, const std::string& decoy_key,
                   const std::string& email, std::vector<auth::bytes> real);

// -- registration -------------------------------------------------------------

/// What a registration answer brings, besides the credential JSON.
struct registration_input {
  std::string challenge_id;
  std::string user_id; ///< the bearer's account
  user_info user;      ///< the signed-in user
  std::string name;    ///< "" = "Passkey"
  std::string ip;
  std::string user_agent;
  std::string locale; ///< of the "passkey_added" notice
};

/// The write of a verified registration and what the audit names.
struct registration_plan {
  std::string credential_id;
  std::string fmt;
  std::string aaguid;
  db::unit write; ///< store_credential + the notice mail
};

/// Verifies `credential` against the challenge `facts` (empty: unknown)
/// and plans the unit that stores it and queues the notice mail.
/// challenge_not_found means: refuse without consuming the challenge.
std::variant<registration_plan, rejection> plan_registration(
    const services& svc, const std::vector<wa::trust_anchor>& anchors,
    const std::optional<db::webauthn_store::registration_facts>& facts,
    const registration_input& in, const nlohmann::json& credential,
    std::int64_t now);

/// A failed registration unit as a refusal (consume and answer), or
/// nothing for a failure that is internal.
std::optional<rejection>
registration_unit_failure(const std::string& fail_code);

// -- sign-in ------------------------------------------------------------------

/// A signature counter that did not advance.
struct counter_regression {
  std::int64_t stored = 0;
  std::int64_t received = 0; ///< -1 when the ceremony was refused for it
  bool rejected = false;
};

/// What a sign-in answer leads to.
struct login_plan {
  enum class action : std::uint8_t {
    refuse,         ///< challenge unknown: answer, consume nothing
    reject,         ///< consume the challenge and answer `why`
    reject_source,  ///< count a failure of the source, then reject
    reject_account, ///< count a failure of `user_id` from here, then reject
    sign_in,        ///< run `write`, then open a session for the user
  };
  action act = action::refuse;
  rejection why;
  std::string user_id;
  std::optional<counter_regression> counter;
  db::unit write;
};

/// Decides a sign-in answer from the challenge facts (empty: unknown), the
/// parsed credential and the request's lockout `source`.
login_plan
plan_login(const config::settings& cfg, const std::string& challenge_id,
           const std::optional<db::webauthn_store::login_facts>& facts,
           const wa::result<wa::assertion_response>& parsed,
           const std::string& credential_id, const std::string& source,
           std::int64_t now);

/// A failed sign-in unit: challenge_not_found (refuse), unknown_credential
/// (reject), or nothing for a failure that is internal.
std::optional<rejection> login_unit_failure(const std::string& fail_code);

// -- running the ceremonies ---------------------------------------------------
// Each run_* function is the whole flow from actor `self` (any typed
// event-based actor): the read, the plan, the one write, the audit and the
// notification. `done(outcome<T>&)` is called once, unless a round trip to
// an owner fails: then `fail(caf::error&)` is.

/// A flow's answer: its value or a refusal (internal: log `detail`, 500).
template <class T>
using outcome = std::variant<T, rejection>;

/// An internal failure (answered 500, `cause` logged).
inline rejection internal(std::string cause) {
  return rejection{passkey_errc::internal, {}, std::move(cause)};
}

/// What a flow needs from the front end that runs it.
struct request_hooks {
  /// Audits an event the way the front end does (its IP, agent, request
  /// id; an empty user id means the signed-in user's).
  std::function<void(std::string type, bool ok, std::string user_id,
                     std::string email, nlohmann::json meta)>
      audit;
  /// Names a refusal's reason in the request's log line.
  std::function<void(const std::string& reason)> note;
  /// Counts a failure of (user, "webauthn") from the request's source
  /// (lockout), then runs the continuation.
  std::function<void(const std::string& user_id, std::function<void()>)>
      record_failure;
  /// Counts a failure that concerns no account, then the continuation.
  std::function<void(std::function<void()>)> record_source_failure;
  /// The session request for a user signed in by passkey.
  std::function<new_session(const user_info&)> session_request;
  std::string request_id;
};

/// The options of a stored challenge.
struct options_reply {
  std::string challenge_id;
  nlohmann::json public_key;
};

namespace detail {

/// Runs one step of a flow; an exception answers an internal refusal.
template <class Out, class Done, class F>
void guard(Done& done, F&& f) {
  guard_step<Out>(done, std::forward<F>(f),
                  [](std::string cause) { return internal(std::move(cause)); });
}

/// Stores the planned challenge, then answers its options.
template <class Self, class Done, class Fail>
void store_options(Self self, const services& svc, options_plan plan, Done done,
                   Fail fail) {
  options_reply reply{plan.challenge_id, std::move(plan.public_key)};
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               std::move(plan.write))
      .then(
          [reply, done](db::unit_result& r) mutable {
            if (!r.ok) {
              outcome<options_reply> o
                  = internal("challenge insert failed: " + r.fail_code);
              return done(o);
            }
            outcome<options_reply> o = std::move(reply);
            done(o);
          },
          fail);
}

/// Consumes a challenge whose ceremony failed (single use whatever the
/// outcome), then calls `then`.
template <class Self, class Then, class Fail>
void consume(Self self, const services& svc, const std::string& id,
             const char* purpose, Then then, Fail fail) {
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               db::webauthn_store::consume_challenge(id, purpose))
      .then([then](db::unit_result&) mutable { then(); }, fail);
}

void count_attempt(const services& svc, bool ok);

/// A counter that did not advance: an audit event, a metric and a warning,
/// whether or not configuration rejects the sign-in.
void flag_counter_regression(const services& svc, const request_hooks& h,
                             const std::string& user_id,
                             const std::string& credential_id,
                             const counter_regression& c);

} // namespace detail

/// Registration options for the signed-in user (`user_id`, `user`).
template <class Self, class Done, class Fail>
void run_registration_options(Self self, const services& svc,
                              const std::string& user_id, const user_info& user,
                              Done done, Fail fail) {
  namespace ws = db::webauthn_store;
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               ws::credentials_of(user_id))
      .then(
          [self, svc, user_id, user, done, fail](db::rowset& rs) mutable {
            detail::guard<outcome<options_reply>>(done, [&] {
              auto plan = plan_registration_options(
                  *svc.cfg, user_id, user, ws::decode_credentials(rs),
                  auth::random_bytes(challenge_size), auth::uuid_v4(),
                  svc.clock->unix_seconds());
              if (!plan) {
                outcome<options_reply> o
                    = rejection{*plan.err().as<passkey_errc>(), {}, {}};
                return done(o);
              }
              detail::store_options(self, svc, std::move(*plan), done, fail);
            });
          },
          fail);
}

/// Sign-in options for `email` ("" = usernameless): the same read and the
/// same write whether or not the address has an account or passkeys.
template <class Self, class Done, class Fail>
void run_login_options(Self self, const services& svc, const std::string& email,
                       Done done, Fail fail) {
  namespace ws = db::webauthn_store;
  auto challenge = auth::random_bytes(challenge_size);
  auto challenge_id = auth::uuid_v4();
  if (email.empty())
    return detail::store_options(
        self, svc,
        plan_login_options(*svc.cfg, svc.keys->webauthn_decoys, {}, {},
                           std::move(challenge), std::move(challenge_id),
                           svc.clock->unix_seconds()),
        done, fail);
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               ws::login_credentials_of(email))
      .then(
          [self, svc, email, challenge, challenge_id, done,
           fail](db::rowset& rs) mutable {
            detail::guard<outcome<options_reply>>(done, [&] {
              detail::store_options(
                  self, svc,
                  plan_login_options(*svc.cfg, svc.keys->webauthn_decoys, email,
                                     ws::decode_login_credentials(rs),
                                     challenge, challenge_id,
                                     svc.clock->unix_seconds()),
                  done, fail);
            });
          },
          fail);
}

/// A registration answer: verify, store the passkey and queue the
/// "passkey_added" notice in one unit, audit, wake the mailer. Answers the
/// stored passkey.
template <class Self, class Done, class Fail>
void run_registration(Self self, const services& svc, registration_input in,
                      const nlohmann::json& credential, request_hooks h,
                      Done done, Fail fail) {
  namespace ws = db::webauthn_store;
  using out_t = outcome<ws::passkey_record>;
  // Refuses after consuming the challenge.
  auto refuse = [self, svc, in, h, done, fail](const rejection& why) mutable {
    auto reason = why.why();
    h.note(reason);
    if (!why.detail.empty())
      log::info("webauthn", "registration-rejected",
                {{"reason", reason},
                 {"detail", why.detail},
                 {"request_id", h.request_id}});
    h.audit("passkey.register_failed", false, in.user_id, {},
            {{"reason", reason}});
    detail::consume(
        self, svc, in.challenge_id, "register",
        [why, done]() mutable {
          out_t o = why;
          done(o);
        },
        fail);
  };
  // Read the challenge without consuming it: the unit that stores the
  // passkey consumes it, so that of two concurrent answers exactly one wins.
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               ws::registration_facts_of(in.challenge_id, in.user_id))
      .then(
          [self, svc, in, credential, h, refuse, done,
           fail](db::rowset& rs) mutable {
            detail::guard<out_t>(done, [&] {
              static const std::vector<wa::trust_anchor> no_anchors;
              const auto& anchors
                  = svc.trust_anchors ? *svc.trust_anchors : no_anchors;
              auto plan = plan_registration(
                  svc, anchors, ws::decode_registration_facts(rs), in,
                  credential, svc.clock->unix_seconds());
              if (auto* why = std::get_if<rejection>(&plan)) {
                if (why->code != passkey_errc::challenge_not_found)
                  return refuse(*why);
                // Unknown, or another user's (which stays theirs).
                h.audit("passkey.register_failed", false, in.user_id, {},
                        {{"reason", "challenge_not_found"}});
                out_t o = *why;
                return done(o);
              }
              auto& p = std::get<registration_plan>(plan);
              safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                           std::move(p.write))
                  .then(
                      [svc, h, refuse, done, cred_id = p.credential_id,
                       fmt = p.fmt,
                       aaguid = p.aaguid](db::unit_result& r) mutable {
                        if (!r.ok) {
                          auto why = registration_unit_failure(r.fail_code);
                          out_t o = internal("passkey insert failed: "
                                             + r.fail_code);
                          if (!why)
                            return done(o);
                          if (why->code != passkey_errc::challenge_not_found)
                            return refuse(*why);
                          o = *why;
                          return done(o);
                        }
                        h.audit("passkey.registered", true, {}, {},
                                {{"credential_id", cred_id},
                                 {"fmt", fmt},
                                 {"aaguid", aaguid}});
                        caf::anon_send(svc.mailer, atom::wake_atom_v);
                        out_t o = ws::decode_registered(r);
                        done(o);
                      },
                      fail);
            });
          },
          fail);
}

/// What a sign-in answer brings.
struct login_input {
  std::string challenge_id;
  nlohmann::json credential;
  std::string source; ///< the request's lockout source
};

/// A sign-in answer: check the lock and the assertion, spend the challenge
/// and keep the counter in one unit, open a session, audit. Answers the
/// session's tokens.
template <class Self, class Done, class Fail>
void run_login(Self self, const services& svc, const login_input& in,
               request_hooks h, Done done, Fail fail) {
  namespace ws = db::webauthn_store;
  using out_t = outcome<token_result>;
  auto parsed = std::make_shared<wa::result<wa::assertion_response>>(
      wa::parse_assertion_credential(in.credential));
  auto cred_id = parsed->ok() ? auth::base64url_encode((*parsed)->raw_id)
                              : std::string{};
  auto id = in.challenge_id;
  // Refuses after consuming the challenge.
  auto reject = [self, svc, id, h, done, fail](const rejection& why,
                                               const std::string& user_id) {
    auto reason = why.why();
    detail::count_attempt(svc, false);
    h.note(reason);
    if (!why.detail.empty())
      log::info("webauthn", "assertion-rejected",
                {{"reason", reason},
                 {"detail", why.detail},
                 {"request_id", h.request_id}});
    h.audit("passkey.rejected", false, user_id, {}, {{"reason", reason}});
    detail::consume(
        self, svc, id, "login",
        [why, done]() mutable {
          out_t o = why;
          done(o);
        },
        fail);
  };
  auto source = in.source;
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               ws::login_facts_of(id, cred_id, source))
      .then(
          [self, svc, id, parsed, cred_id, source, h, reject, done,
           fail](db::rowset& rs) mutable {
            detail::guard<out_t>(done, [&] {
              auto plan = plan_login(*svc.cfg, id, ws::decode_login_facts(rs),
                                     *parsed, cred_id, source,
                                     svc.clock->unix_seconds());
              if (plan.counter)
                detail::flag_counter_regression(svc, h, plan.user_id, cred_id,
                                                *plan.counter);
              using action = login_plan::action;
              auto user_id = plan.user_id;
              auto why = plan.why;
              switch (plan.act) {
              case action::refuse: {
                detail::count_attempt(svc, false);
                h.audit("passkey.rejected", false, {}, {},
                        {{"reason", "challenge_not_found"}});
                out_t o = why;
                return done(o);
              }
              case action::reject:
                return reject(why, user_id);
              case action::reject_source:
                return h.record_source_failure(
                    [reject, why] { reject(why, {}); });
              case action::reject_account:
                return h.record_failure(
                    user_id, [reject, why, user_id] { reject(why, user_id); });
              case action::sign_in:
                break;
              }
              safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                           std::move(plan.write))
                  .then(
                      [self, svc, h, reject, cred_id, user_id, done,
                       fail](db::unit_result& r) mutable {
                        if (!r.ok) {
                          auto why = login_unit_failure(r.fail_code);
                          out_t o = internal("passkey sign-in failed: "
                                             + r.fail_code);
                          if (!why)
                            return done(o);
                          if (why->code != passkey_errc::challenge_not_found)
                            return reject(*why, user_id);
                          detail::count_attempt(svc, false);
                          o = *why;
                          return done(o);
                        }
                        auto user = ws::decode_signed_in_user(r);
                        safe_request(self, svc.sessions, db_timeout,
                                     h.session_request(user))
                            .then(
                                [svc, h, user, cred_id,
                                 done](token_result& t) mutable {
                                  bool ok = t.error.empty();
                                  detail::count_attempt(svc, ok);
                                  h.audit("passkey.used", ok, user.id,
                                          user.email,
                                          {{"credential_id", cred_id}});
                                  out_t o = std::move(t);
                                  done(o);
                                },
                                fail);
                      },
                      fail);
            });
          },
          fail);
}

} // namespace authsvc::passkey_flow
