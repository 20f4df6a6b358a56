#pragma once
// TOTP enrolment, TOTP checks and recovery-code sign-in as flows: read the
// facts (one query) -> a pure plan (the functions below: no actors, no I/O,
// unit-tested in tests/unit/totp_flow_test.cpp) -> one write unit -> audit
// -> notify. The handlers in front/totp_routes.cpp translate JSON to the
// inputs and the typed outcomes (totp_errc) to answers.
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/db_timeout.hpp"
#include "actors/flow_guard.hpp"
#include "actors/messages.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/totp_errc.hpp"
#include "actors/type_ids.hpp"
#include "auth/result.hpp"
#include "auth/recovery_codes.hpp"
#include "auth/totp.hpp"
#include "db/totp_store.hpp"

namespace authsvc::totp_flow {

/// The lockout methods of the two secrets.
constexpr const char* totp_method = "totp";
constexpr const char* recovery_method = "recovery_code";

/// Six ASCII digits.
bool six_digits(const std::string& s);

/// What a notice mail to the signed-in user shows.
struct notice_input {
  user_info user;
  std::string ip;
  std::string user_agent;
  std::string locale;
};

// -- enrolment ----------------------------------------------------------------

/// A new pending secret: what the user is shown and the unit that stores it.
struct enrolment {
  std::string secret;      ///< base32
  std::string otpauth_uri; ///< for the authenticator app
  std::string qr_svg;      ///< the URI as a QR code
  db::unit write;
};

/// Plans an enrolment of `secret` for the account (internal when the QR
/// code cannot be drawn).
result<enrolment> plan_enrol(const config::settings& cfg, const key_ring& keys,
                             const std::string& user_id,
                             const std::string& email,
                             const auth::bytes& secret, std::int64_t now);

/// The confirmation of a pending secret and its fresh recovery codes.
struct confirmation {
  std::vector<std::string> recovery_codes; ///< shown once
  db::unit write; ///< confirm, lockout reset, codes, totp_enabled notice
};

/// Checks `code` against the pending secret (`pending`: the account's row,
/// empty when there is none): not_pending, internal (secret undecryptable)
/// or invalid_code; else the unit that confirms it with `fresh_codes`.
result<confirmation>
plan_confirm(const services& svc, const std::string& user_id,
             const std::optional<db::totp_store::totp_state>& pending,
             const std::string& code, const notice_input& notice,
             std::vector<std::string> fresh_codes, std::int64_t now);

// -- checks of a current code -------------------------------------------------

/// How a code compared with an account's confirmed TOTP.
enum class verdict : std::uint8_t {
  not_enabled,   ///< no row, or not confirmed
  locked,        ///< the method is locked for this source
  undecryptable, ///< the sealed secret does not open (a key problem)
  wrong_code,    ///< wrong or replayed
  ok,
};

struct code_check {
  verdict result = verdict::not_enabled;
  std::int64_t step = 0; ///< the matched time step when ok
};

/// Checks `code` for the account (`t`: its row, empty when there is none)
/// at `now` (one step of drift, never a step at or before the last used).
code_check check_code(const key_ring& keys, const std::string& user_id,
                      const std::optional<db::totp_store::totp_state>& t,
                      const std::string& code, std::int64_t now);

/// The unit that removes TOTP after a fresh code (`step`), with its
/// recovery codes and both methods' lockout counts.
db::unit disable_unit(const std::string& user_id, std::int64_t step);

/// The unit that spends `step` and replaces the recovery codes with
/// `fresh_codes` (their hashes).
db::unit regenerate_unit(const key_ring& keys, const std::string& user_id,
                         std::int64_t step, const std::string& source,
                         const std::vector<std::string>& fresh_codes,
                         std::int64_t now);

/// The unit of a TOTP sign-in: spends `step` unless the source got locked
/// since the read, and resets the source's count.
db::unit sign_in_unit(const std::string& user_id, std::int64_t step,
                      const std::string& source, std::int64_t now);

// -- recovery codes -----------------------------------------------------------

/// The stored hash of a recovery code as typed.
std::string recovery_hash(const key_ring& keys, const std::string& code);

/// How a recovery-code sign-in compares with the facts.
enum class recovery_verdict : std::uint8_t { unknown, locked, wrong_code, ok };

recovery_verdict check_recovery(const db::totp_store::recovery_facts& f,
                                std::int64_t now);

/// The unit of a recovery-code sign-in: burns the code, resets the count.
db::unit recovery_unit(const std::string& user_id, const std::string& hash,
                       const std::string& source, std::int64_t now);

// -- running the flows --------------------------------------------------------
// Each run_* function is the whole flow from actor `self` (any typed
// event-based actor): the read, the plan, the one write, the audit and the
// notification. `done(outcome<T>&)` is called once, unless a round trip to
// an owner fails: then `fail(caf::error&)` is.

/// A flow's answer: its value, a typed refusal, or a unit that failed (the
/// front answers its fail code as it answers every failed unit).
template <class T>
using outcome = std::variant<T, error, db::unit_result>;

/// What a flow needs from the front end that runs it.
struct request_hooks {
  /// Audits an event the way the front end does (its IP, agent, request
  /// id; an empty user id means the signed-in user's).
  std::function<void(std::string type, bool ok, std::string user_id,
                     std::string email, nlohmann::json meta)>
      audit;
  /// Counts a failure of (user, method) from the request's source
  /// (lockout), then runs the continuation.
  std::function<void(const std::string& user_id, const std::string& email,
                     const std::string& method, std::function<void()>)>
      record_failure;
  /// The session request for a user signed in by `amr`.
  std::function<new_session(const user_info&, const char* amr)> session_request;
  /// The write of a refusal with no failure to record (the timing pad).
  db::unit timing_pad;
  /// The request's lockout source.
  std::string source;
};

/// What an enrolment shows the user.
struct enrolment_reply {
  std::string secret;
  std::string otpauth_uri;
  std::string qr_svg;
};

namespace detail {

/// Runs one step of a flow; an exception answers an internal error.
template <class Out, class Done, class F>
void guard(Done& done, F&& f) {
  guard_step<Out>(done, std::forward<F>(f), [](std::string cause) {
    return error{totp_errc::internal, std::move(cause)};
  });
}

/// Counts and audits one sign-in attempt by TOTP or recovery code.
void count_attempt(const services& svc, const request_hooks& h,
                   const std::string& method, bool ok,
                   const std::string& user_id, const std::string& email,
                   const std::string& reason = {});

/// Runs `u`; `then(out)` with the unit's failure, or `on_ok()`.
template <class Self, class Out, class Done, class Fail, class OnOk>
void write(Self self, const services& svc, db::unit u, Done done, Fail fail,
           OnOk on_ok) {
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [done, on_ok](db::unit_result& r) mutable {
            if (!r.ok) {
              Out o = std::move(r);
              return done(o);
            }
            on_ok();
          },
          fail);
}

/// The signed-in user's confirmed TOTP checked against `code` (replay
/// protection, lockout), then `then(step)`. Answers not_enabled when TOTP
/// is off and invalid_code for a wrong, replayed or locked code.
template <class Out, class Self, class Then, class Done, class Fail>
void with_current_code(Self self, const services& svc,
                       const std::string& user_id, const std::string& email,
                       const std::string& code, const request_hooks& h,
                       Then then, Done done, Fail fail) {
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               db::totp_store::current_of(user_id, h.source))
      .then(
          [svc, user_id, email, code, h, then, done](db::rowset& rs) mutable {
            guard<Out>(done, [&] {
              auto check = check_code(*svc.keys, user_id,
                                      db::totp_store::decode_current(rs), code,
                                      svc.clock->unix_seconds());
              Out o = error{totp_errc::invalid_code};
              switch (check.result) {
              case verdict::not_enabled:
                o = error{totp_errc::not_enabled};
                return done(o);
              case verdict::locked:
                h.audit("totp.failed", false, user_id, email,
                        {{"reason", "locked"}});
                return done(o);
              case verdict::undecryptable:
                o = error{totp_errc::internal, "totp secret undecryptable"};
                return done(o);
              case verdict::wrong_code:
                h.audit("totp.failed", false, user_id, email,
                        {{"reason", "wrong_code"}});
                return h.record_failure(user_id, email, totp_method,
                                        [done, o]() mutable { done(o); });
              case verdict::ok:
                break;
              }
              then(check.step);
            });
          },
          fail);
}

/// The one refusal of both sign-in flows, after the timing pad's commit so
/// that it takes as long as a counted failure.
template <class Self, class Done, class Fail>
void refuse_after_no_op(Self self, const services& svc, const request_hooks& h,
                        const std::string& method, const std::string& user_id,
                        const std::string& email, const std::string& reason,
                        Done done, Fail fail) {
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, h.timing_pad)
      .then(
          [svc, h, method, user_id, email, reason,
           done](db::unit_result&) mutable {
            count_attempt(svc, h, method, false, user_id, email, reason);
            outcome<token_result> o = error{totp_errc::invalid_code};
            done(o);
          },
          fail);
}

/// A wrong (or replayed) secret for a known account: counted for lockout.
template <class Done>
void refuse_counted(const services& svc, const request_hooks& h,
                    const std::string& method, const user_info& user,
                    const std::string& reason, Done done) {
  h.record_failure(user.id, user.email, method,
                   [svc, h, method, user, reason, done]() mutable {
                     count_attempt(svc, h, method, false, user.id, user.email,
                                   reason);
                     outcome<token_result> o = error{totp_errc::invalid_code};
                     done(o);
                   });
}

/// Opens the session of a signed-in user and counts the attempt.
template <class Self, class Done, class Fail>
void open_session(Self self, const services& svc, const request_hooks& h,
                  const char* method, const char* amr, const user_info& user,
                  Done done, Fail fail) {
  safe_request(self, svc.sessions, db_timeout, h.session_request(user, amr))
      .then(
          [svc, h, method, user, done](token_result& t) mutable {
            count_attempt(svc, h, method, t.error.empty(), user.id, user.email);
            outcome<token_result> o = std::move(t);
            done(o);
          },
          fail);
}

} // namespace detail

/// Enrols a new pending secret for the signed-in user.
template <class Self, class Done, class Fail>
void run_enrol(Self self, const services& svc, const std::string& user_id,
               const std::string& email, const request_hooks& h, Done done,
               Fail fail) {
  using out_t = outcome<enrolment_reply>;
  auto plan
      = plan_enrol(*svc.cfg, *svc.keys, user_id, email,
                   auth::generate_totp_secret(), svc.clock->unix_seconds());
  if (!plan) {
    out_t o = plan.err();
    return done(o);
  }
  enrolment_reply reply{plan->secret, plan->otpauth_uri, plan->qr_svg};
  detail::write<Self, out_t>(self, svc, std::move(plan->write), done, fail,
                             [h, reply, done]() mutable {
                               h.audit("totp.enrolled", true, {}, {}, {});
                               out_t o = std::move(reply);
                               done(o);
                             });
}

/// Confirms the pending secret with a code: enables TOTP, issues recovery
/// codes, queues the totp_enabled notice. Answers the codes.
template <class Self, class Done, class Fail>
void run_confirm(Self self, const services& svc, const std::string& user_id,
                 const std::string& code, const notice_input& notice,
                 request_hooks h, Done done, Fail fail) {
  using out_t = outcome<std::vector<std::string>>;
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               db::totp_store::pending_of(user_id))
      .then(
          [self, svc, user_id, code, notice, h, done,
           fail](db::rowset& rs) mutable {
            detail::guard<out_t>(done, [&] {
              auto plan = plan_confirm(
                  svc, user_id, db::totp_store::decode_pending(rs), code,
                  notice, auth::generate_recovery_codes(10),
                  svc.clock->unix_seconds());
              if (!plan) {
                if (plan.err().is(totp_errc::invalid_code))
                  h.audit("totp.failed", false, user_id, notice.user.email,
                          {{"reason", "confirm_wrong_code"}});
                out_t o = plan.err();
                return done(o);
              }
              auto codes = plan->recovery_codes;
              detail::write<Self, out_t>(
                  self, svc, std::move(plan->write), done, fail,
                  [svc, h, codes, done]() mutable {
                    caf::anon_send(svc.mailer, atom::wake_atom_v);
                    h.audit("totp.confirmed", true, {}, {}, {});
                    out_t o = std::move(codes);
                    done(o);
                  });
            });
          },
          fail);
}

/// Removes TOTP (and the recovery codes) after a current code.
template <class Self, class Done, class Fail>
void run_disable(Self self, const services& svc, std::string user_id,
                 std::string email, std::string code, request_hooks h,
                 Done done, Fail fail) {
  using out_t = outcome<authsvc::done>;
  detail::with_current_code<out_t>(
      self, svc, user_id, email, std::move(code), h,
      [self, svc, user_id, h, done, fail](std::int64_t step) mutable {
        detail::write<Self, out_t>(self, svc, disable_unit(user_id, step), done,
                                   fail, [h, done]() mutable {
                                     h.audit("totp.disabled", true, {}, {}, {});
                                     out_t o = authsvc::done{};
                                     done(o);
                                   });
      },
      done, fail);
}

/// Replaces the recovery codes after a current code. Answers the codes.
template <class Self, class Done, class Fail>
void run_regenerate(Self self, const services& svc, std::string user_id,
                    std::string email, std::string code, request_hooks h,
                    Done done, Fail fail) {
  using out_t = outcome<std::vector<std::string>>;
  detail::with_current_code<out_t>(
      self, svc, user_id, email, std::move(code), h,
      [self, svc, user_id, h, done, fail](std::int64_t step) mutable {
        auto codes = auth::generate_recovery_codes(10);
        auto u = regenerate_unit(*svc.keys, user_id, step, h.source, codes,
                                 svc.clock->unix_seconds());
        detail::write<Self, out_t>(
            self, svc, std::move(u), done, fail, [h, codes, done]() mutable {
              h.audit("recovery.regenerated", true, {}, {}, {});
              out_t o = codes;
              done(o);
            });
      },
      done, fail);
}

/// Signs in with email + TOTP code. Answers the session's tokens.
template <class Self, class Done, class Fail>
void run_verify(Self self, const services& svc, std::string email,
                const std::string& code, request_hooks h, Done done,
                Fail fail) {
  using out_t = outcome<token_result>;
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               db::totp_store::sign_in_facts_of(email, h.source))
      .then(
          [self, svc, email, code, h, done, fail](db::rowset& rs) mutable {
            detail::guard<out_t>(done, [&] {
              auto now = svc.clock->unix_seconds();
              auto facts = db::totp_store::decode_sign_in_facts(rs);
              auto refuse = [&](const std::string& user_id,
                                const std::string& reason) {
                detail::refuse_after_no_op(self, svc, h, totp_method, user_id,
                                           email, reason, done, fail);
              };
              if (!facts.user)
                return refuse({}, "unknown");
              auto user = *facts.user;
              auto check
                  = check_code(*svc.keys, user.id, facts.totp, code, now);
              switch (check.result) {
              case verdict::not_enabled:
                return refuse(user.id, "not_enabled");
              case verdict::locked:
                return refuse(user.id, "locked");
              case verdict::undecryptable: {
                out_t o
                    = error{totp_errc::internal, "totp secret undecryptable"};
                return done(o);
              }
              case verdict::wrong_code:
                return detail::refuse_counted(svc, h, totp_method, user,
                                              "wrong_code", done);
              case verdict::ok:
                break;
              }
              safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                           sign_in_unit(user.id, check.step, h.source, now))
                  .then(
                      [self, svc, h, user, done,
                       fail](db::unit_result& r) mutable {
                        if (!r.ok)
                          return detail::refuse_counted(svc, h, totp_method,
                                                        user, "replayed", done);
                        detail::open_session(self, svc, h, totp_method, "totp",
                                             user, done, fail);
                      },
                      fail);
            });
          },
          fail);
}

/// Signs in with email + recovery code. Answers the session's tokens.
template <class Self, class Done, class Fail>
void run_recovery(Self self, const services& svc, std::string email,
                  const std::string& code, request_hooks h, Done done,
                  Fail fail) {
  using out_t = outcome<token_result>;
  auto hash = recovery_hash(*svc.keys, code);
  // The read also says whether the code is live, so a wrong code costs one
  // write (the counted failure) like an unknown address (a no-op commit),
  // as in run_verify; trying to burn it first would add a second.
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               db::totp_store::recovery_facts_of(email, hash, h.source))
      .then(
          [self, svc, email, hash, h, done, fail](db::rowset& rs) mutable {
            detail::guard<out_t>(done, [&] {
              auto now = svc.clock->unix_seconds();
              auto facts = db::totp_store::decode_recovery_facts(rs);
              switch (check_recovery(facts, now)) {
              case recovery_verdict::unknown:
                return detail::refuse_after_no_op(self, svc, h, recovery_method,
                                                  {}, email, "unknown", done,
                                                  fail);
              case recovery_verdict::locked:
                return detail::refuse_after_no_op(self, svc, h, recovery_method,
                                                  facts.user->id, email,
                                                  "locked", done, fail);
              case recovery_verdict::wrong_code:
                return detail::refuse_counted(svc, h, recovery_method,
                                              *facts.user, "wrong_code", done);
              case recovery_verdict::ok:
                break;
              }
              auto user = *facts.user;
              safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                           recovery_unit(user.id, hash, h.source, now))
                  .then(
                      [self, svc, h, user, done,
                       fail](db::unit_result& r) mutable {
                        if (!r.ok)
                          return detail::refuse_counted(svc, h, recovery_method,
                                                        user, "wrong_code",
                                                        done);
                        detail::open_session(self, svc, h, recovery_method,
                                             "recovery_code", user, done, fail);
                      },
                      fail);
            });
          },
          fail);
}

} // namespace authsvc::totp_flow
