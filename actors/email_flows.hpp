#pragma once
// The email sign-in flows after the start (actors/email_start_flow): the
// link (sign in its holder, approve the hand-over, deny), the code, the
// starter's exchange, and one-time exchange codes. Each follows the start's
// shape: read facts -> decide -> one unit -> audit -> notify, and reports a
// typed result (email_errc, store_errc) that the caller translates; no
// HTTP here. Each runs from an actor `self` (any typed event-based actor)
// and calls `done(result<T>&)` once, unless a round trip fails: then
// `fail(caf::error&)` is.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "actors/db_timeout.hpp"
#include "actors/email_errc.hpp"
#include "actors/lockout_flow.hpp"
#include "actors/requester.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/type_ids.hpp"
#include "auth/crypto.hpp"
#include "auth/result.hpp"
#include "db/flows_store.hpp"
#include "db/store_errc.hpp"
#include "db/users_store.hpp"

namespace authsvc {

/// A session opened by a flow: the session actor's answer (its error is
/// the session actor's code) and the user it is for.
struct email_signed_in {
  token_result tokens;
  user_info user;
  /// The flow's redirect_to (link sign-in only; "" = none).
  std::string redirect_to;
};

/// What the starter's poll found: still pending, or signed in.
struct email_exchanged {
  bool pending = false;
  token_result tokens; ///< when !pending
};

/// A one-time code and what it was issued or redeemed for.
struct exchange_code_outcome {
  /// Non-empty: nothing usable happened (log it, answer internal_error).
  std::string internal_cause;
  std::string code;    ///< issued: the code (only its hash is stored)
  std::string payload; ///< redeemed: the sealed payload, opened
};

namespace email_flows_detail {

/// auth_attempts_total{method, outcome} and the email.link_* /
/// email.code_* audit event of one attempt ("magic_link" or "otp").
void count_attempt(const services& svc, const requester& who,
                   const char* method, bool ok, const std::string& user_id = {},
                   const std::string& email = {});

/// A failed link unit: invalid_link (unavailable when the DB said so).
error link_unit_error(const db::unit_result& r);

/// A failed unit of the code and exchange flows: its statement's code, or
/// `fallback` for a constraint or precondition (noted as db_fail).
error unit_error(const requester& who, const db::unit_result& r,
                 email_errc fallback);

/// Whether `code` is the flow's code (its keyed hash is `code_hash`).
bool code_matches(const services& svc, const std::string& flow_id,
                  const std::string& code, const std::string& code_hash);

/// Collects the link's flow for its holder and signs the address up.
db::unit link_sign_in_unit(const std::string& token, std::int64_t now);

/// The right code: collects the flow, signs the address up, and clears the
/// source's email_code failures.
db::unit code_sign_in_unit(const requester& who, const std::string& flow_id,
                           std::int64_t now);

/// Collects the approved flow for the holder of its secret, signs up.
db::unit exchange_unit(const std::string& flow_id,
                       const std::string& secret_hash, std::int64_t now);

/// The approve answer: audits it; handover_refused on a wrong number.
result<done> finish_approve(const services& svc, const requester& who,
                            const db::rowset& row);

/// The deny answer: audits the report.
result<done> finish_deny(const services& svc, const requester& who,
                         const db::rowset& row);

/// The poll's decision: true = still pending, false = approved (collect
/// it); flow_expired for an unknown, expired or dead flow or a wrong
/// secret.
result<bool>
check_exchange(const std::optional<db::flows_store::exchange_view>& v,
               const std::string& secret_hash, std::int64_t now);

/// The seal of a payload under its code, and the code's row.
db::unit issue_unit(const services& svc, const std::string& session_id,
                    const std::string& payload, exchange_code_outcome& out);

/// Opens a redeemed payload; fills internal_cause when it does not open.
void open_payload(const services& svc, const std::string& code_hash,
                  const db::rowset& row, exchange_code_outcome& out);

/// Opens the session of a confirmed flow for `in.user` (amr `method`,
/// "magic_link" or "otp"), counts the attempt, and reports `in` with the
/// session actor's answer.
template <class Self, class Done, class Fail>
void open_counted_session(Self self, const services& svc, const requester& who,
                          email_signed_in in, const char* method, Done done,
                          Fail fail) {
  auto user = in.user;
  safe_request(self, svc.sessions, db_timeout,
               sign_in_request(who, std::move(user), method))
      .then(
          [svc, who, in, method, done](token_result& t) mutable {
            count_attempt(svc, who, method, t.error.empty(), in.user.id,
                          in.user.email);
            in.tokens = std::move(t);
            result<email_signed_in> out{std::move(in)};
            done(out);
          },
          fail);
}

} // namespace email_flows_detail

/// Consumes a link for its holder (status 'collected', so the starter's
/// exchange gets nothing) and opens a session: counts and audits the
/// attempt. Errors: invalid_link.
template <class Self, class Done, class Fail>
void sign_in_by_link(Self self, const services& svc, requester who,
                     const std::string& token, Done done, Fail fail) {
  namespace d = email_flows_detail;
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               d::link_sign_in_unit(token, svc.clock->unix_seconds()))
      .then(
          [self, svc, who, done, fail](db::unit_result& r) mutable {
            if (!r.ok) {
              d::count_attempt(svc, who, "magic_link", false);
              result<email_signed_in> out{d::link_unit_error(r)};
              return done(out);
            }
            email_signed_in in;
            in.redirect_to
                = db::flows_store::decode_consumed(r.results[0]).redirect_to;
            in.user = db::users_store::decode_user(r.results[2]);
            d::open_counted_session(self, svc, who, std::move(in), "magic_link",
                                    done, fail);
          },
          fail);
}

namespace email_flows_detail {

/// Runs the one statement that decides a link (approve or deny), counts a
/// refused link, and lets `finish(svc, who, row)` audit and answer.
template <class Self, class Finish, class Done, class Fail>
void decide_link(Self self, const services& svc, const requester& who,
                 db::statement decide, Finish finish, Done done, Fail fail) {
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               db::unit{{std::move(decide)}})
      .then(
          [svc, who, finish, done](db::unit_result& r) mutable {
            if (!r.ok) {
              count_attempt(svc, who, "magic_link", false);
              result<authsvc::done> out{link_unit_error(r)};
              return done(out);
            }
            auto out = finish(svc, who, r.results[0]);
            done(out);
          },
          fail);
}

} // namespace email_flows_detail

/// The hand-over: approved only when `match` is the starter's number. One
/// statement decides and consumes, so a wrong pick burns the flow (no second
/// guess) and two concurrent picks cannot both count. Errors: invalid_link,
/// handover_refused.
template <class Self, class Done, class Fail>
void approve_handover(Self self, const services& svc, requester who,
                      const std::string& token, std::int64_t match, Done done,
                      Fail fail) {
  namespace d = email_flows_detail;
  d::decide_link(self, svc, who,
                 db::flows_store::approve_by_link(auth::token_hash(token),
                                                  svc.clock->unix_seconds(),
                                                  match, "invalid_link"),
                 d::finish_approve, done, fail);
}

/// "This was not me": cancels the link's flow and audits the report.
/// Errors: invalid_link.
template <class Self, class Done, class Fail>
void deny_link(Self self, const services& svc, requester who,
               const std::string& token, Done done, Fail fail) {
  namespace d = email_flows_detail;
  d::decide_link(self, svc, who,
                 db::flows_store::deny_by_link(auth::token_hash(token),
                                               svc.clock->unix_seconds(),
                                               "invalid_link"),
                 d::finish_deny, done, fail);
}

/// Verifies a flow's code: counts the attempt first (atomically), then
/// compares, so a flood of guesses in parallel cannot exceed the limit.
/// Locked for this account from this source answers exactly like a wrong
/// code. Every refusal costs one more commit of one written page (the
/// failure of a known address, or the timing pad), so the timing does not
/// tell whether the address has an account. Errors: flow_expired,
/// invalid_code.
template <class Self, class Done, class Fail>
void verify_email_code(Self self, const services& svc, requester who,
                       const std::string& flow_id, const std::string& code,
                       Done done, Fail fail) {
  namespace d = email_flows_detail;
  auto now = svc.clock->unix_seconds();
  auto max = svc.cfg->auth.code_max_attempts;
  safe_request(
      self, svc.db, db_timeout, atom::write_atom_v,
      db::unit{{db::flows_store::count_code_attempt(
          flow_id, now, max, who.source, "email_code", "flow_expired")}})
      .then(
          [self, svc, who, flow_id, code, now, max, done,
           fail](db::unit_result& r) mutable {
            if (!r.ok) {
              d::count_attempt(svc, who, "otp", false);
              result<email_signed_in> out{
                  d::unit_error(who, r, email_errc::flow_expired)};
              return done(out);
            }
            auto a = db::flows_store::decode_code_attempt(r.results[0]);
            bool locked = a.locked_until > now;
            if (locked || !d::code_matches(svc, flow_id, code, a.code_hash)) {
              d::count_attempt(svc, who, "otp", false);
              auto refuse = [self, svc, flow_id, done, fail,
                             dead = a.attempts >= max]() mutable {
                result<email_signed_in> out{email_errc::invalid_code};
                if (!dead)
                  return done(out);
                safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                             db::unit{{db::flows_store::kill_flow(flow_id)}})
                    .then([done, out](db::unit_result&) mutable { done(out); },
                          fail);
              };
              if (locked || a.user_id.empty()) {
                safe_request(
                    self, svc.db, db_timeout, atom::write_atom_v,
                    db::lockout_store::timing_pad(svc.clock->unix_seconds()))
                    .then([refuse](db::unit_result&) mutable { refuse(); },
                          fail);
                return;
              }
              return record_lockout_failure(self, svc, who, a.user_id, a.email,
                                            "email_code", refuse);
            }
            safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                         d::code_sign_in_unit(who, flow_id, now))
                .then(
                    [self, svc, who, done, fail](db::unit_result& r) mutable {
                      if (!r.ok) {
                        d::count_attempt(svc, who, "otp", false);
                        result<email_signed_in> out{
                            d::unit_error(who, r, email_errc::flow_expired)};
                        return done(out);
                      }
                      email_signed_in in;
                      in.user = db::users_store::decode_user(r.results[2]);
                      d::open_counted_session(self, svc, who, std::move(in),
                                              "otp", done, fail);
                    },
                    fail);
          },
          fail);
}

/// The starter's poll: pending while nobody decided, then (once the
/// hand-over was approved) a session for the holder of the flow secret.
/// Errors: flow_expired.
template <class Self, class Done, class Fail>
void exchange_email_flow(Self self, const services& svc, const requester& who,
                         const std::string& flow_id,
                         const std::string& flow_secret, Done done, Fail fail) {
  namespace d = email_flows_detail;
  auto secret_hash = auth::token_hash(flow_secret);
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               db::flows_store::read_for_exchange(flow_id))
      .then(
          [self, svc, who, flow_id, secret_hash, done,
           fail](db::rowset& rs) mutable {
            auto pending
                = d::check_exchange(db::flows_store::decode_exchange_view(rs),
                                    secret_hash, svc.clock->unix_seconds());
            if (!pending) {
              result<email_exchanged> out{pending.err()};
              return done(out);
            }
            if (*pending) {
              result<email_exchanged> out{email_exchanged{true, {}}};
              return done(out);
            }
            safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                         d::exchange_unit(flow_id, secret_hash,
                                          svc.clock->unix_seconds()))
                .then(
                    [self, svc, who, done, fail](db::unit_result& r) mutable {
                      if (!r.ok) {
                        result<email_exchanged> out{
                            d::unit_error(who, r, email_errc::flow_expired)};
                        return done(out);
                      }
                      safe_request(
                          self, svc.sessions, db_timeout,
                          sign_in_request(
                              who, db::users_store::decode_user(r.results[2]),
                              "magic_link"))
                          .then(
                              [done](token_result& t) mutable {
                                result<email_exchanged> out{
                                    email_exchanged{false, std::move(t)}};
                                done(out);
                              },
                              fail);
                    },
                    fail);
          },
          fail);
}

/// Issues a one-time code for `payload` (the token answer of `session_id`,
/// sealed under the code's hash): a form confirmation sends the browser to
/// its redirect with the code, never with tokens.
template <class Self, class Done, class Fail>
void issue_exchange_code(Self self, const services& svc,
                         const std::string& session_id,
                         const std::string& payload, Done done, Fail fail) {
  namespace d = email_flows_detail;
  exchange_code_outcome out;
  auto u = d::issue_unit(svc, session_id, payload, out);
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [out, done](db::unit_result& r) mutable {
            if (!r.ok)
              out.internal_cause = "exchange insert failed";
            done(out);
          },
          fail);
}

/// Redeems a one-time code (once, before it expires) for its payload.
/// Errors: invalid_exchange_code.
template <class Self, class Done, class Fail>
void redeem_exchange_code(Self self, const services& svc, const requester& who,
                          const std::string& code, Done done, Fail fail) {
  namespace d = email_flows_detail;
  auto hash = auth::token_hash(code);
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               db::unit{{db::flows_store::take_exchange_code(
                   hash, svc.clock->unix_seconds(), "invalid_exchange_code")}})
      .then(
          [svc, who, hash, done](db::unit_result& r) mutable {
            if (!r.ok) {
              result<exchange_code_outcome> out{
                  d::unit_error(who, r, email_errc::invalid_exchange_code)};
              return done(out);
            }
            exchange_code_outcome o;
            d::open_payload(svc, hash, r.results[0], o);
            result<exchange_code_outcome> out{std::move(o)};
            done(out);
          },
          fail);
}

} // namespace authsvc
