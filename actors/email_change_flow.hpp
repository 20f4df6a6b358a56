#pragma once
// Email change (account lifecycle, issue #17): POST /v1/me/email asks, the
// new address confirms (link or code), the old address may cancel for 72 h.
// Each step follows the flows' shape: read facts -> a pure decision -> one
// unit -> audit -> notify, and reports a typed result (email_errc,
// store_errc) that the caller translates; no HTTP here. Each runs from an
// actor `self` (any typed event-based actor) and calls `done(...)` once,
// unless a round trip fails: then `fail(caf::error&)` is.
//
// What a request never tells the requester: whether the new address belongs
// to another account. Every well-formed request writes one row and answers
// alike; the old address gets the same notice (with its cancel link) when
// the address is free and when it is taken; only the new mailbox learns
// which (a confirmation, or "someone tried to use your address").
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/db_timeout.hpp"
#include "actors/email_errc.hpp"
#include "actors/requester.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/type_ids.hpp"
#include "auth/crypto.hpp"
#include "auth/result.hpp"
#include "db/email_change_store.hpp"
#include "db/store_errc.hpp"

namespace authsvc {

/// A request to move `user` to `new_email`.
struct email_change_input {
  user_info user;         ///< the requester's account (as the session has it)
  std::string session_id; ///< the session that asks (revoked by a cancel)
  std::string new_email;  ///< normalised (auth::normalise_email)
  std::string accept_language;
};

/// What a request answers: the same for every outcome.
struct email_change_outcome {
  /// Non-empty: nothing usable happened (log it, answer internal_error).
  std::string internal_cause;
  /// How long the new address may confirm.
  std::int64_t expires_in = 0;
  /// What was decided (email_change_detail::to_string): operators only.
  std::string kind;
  std::string change_id;
};

/// A confirmed change: the account as it is now.
struct email_changed {
  user_info user;
  db::email_change_store::change_row change;
};

/// A cancelled request.
struct email_change_cancelled {
  db::email_change_store::change_row change;
  bool restored = false; ///< the old address is back
  std::int32_t revoked = 0;
};

namespace email_change_detail {

/// The old address may cancel this long after the request (issue #17).
constexpr std::int64_t cancel_window = std::int64_t{72} * 3600;

/// What a request does.
enum class request_kind : std::uint8_t {
  /// Mails the new address a link and code, the old one a notice.
  change,
  /// The address has another account: its owner is told, the old address
  /// gets the same notice as for `change`; nothing can be confirmed.
  in_use,
  /// The address is the current one: nothing to do.
  same_address,
  /// The new mailbox's send caps are spent: no mail.
  suppressed,
  /// The account is gone or disabled.
  gone,
};

const char* to_string(request_kind k);

/// The decision of a request, from its one read.
request_kind decide(const config::settings& cfg,
                    const db::email_change_store::request_facts& facts,
                    const std::string& user_id, const std::string& new_email,
                    std::int64_t now);

/// The one read of a request.
db::statement request_facts(const email_change_input& in, std::int64_t now);

/// Builds the one write of a request (supersede older pending ones, the row,
/// the mails) and fills `out`. May throw.
db::unit plan_request(const services& svc, const requester& who,
                      const email_change_input& in,
                      const db::email_change_store::request_facts& facts,
                      std::int64_t now, email_change_outcome& out);

/// The unit that confirms a request found by `confirm` (a confirm_by_*
/// statement): the address moves, other pending requests end, the account
/// is read back (last statement).
db::unit confirm_unit(db::statement confirm, std::int64_t now);

/// The unit of a cancel link: the row, the restore, the end of pending
/// requests, the account read back (last statement, may be empty).
db::unit cancel_unit(const std::string& token, std::int64_t now);

/// A failed confirm or cancel unit as the caller's error: `fallback` for its
/// own code, conflict for an address another account took meanwhile.
error unit_error(const requester& who, const db::unit_result& r,
                 email_errc fallback);

/// After a confirm committed: the session cache learns the address, audit.
result<email_changed> finish_confirm(const services& svc, const requester& who,
                                     const db::unit_result& r,
                                     const char* method);

/// Whether `code` is the request's code.
bool code_matches(const services& svc, const std::string& change_id,
                  const std::string& code, const std::string& code_hash);

/// The sessions a cancel revokes: created since the request, and the one
/// that asked.
std::vector<std::string>
sessions_to_revoke(const std::vector<session_view>& live,
                   const db::email_change_store::change_row& change);

/// Runs a confirm unit and finishes it.
template <class Self, class Done, class Fail>
void run_confirm(Self self, const services& svc, const requester& who,
                 db::unit u, email_errc fallback, const char* method, Done done,
                 Fail fail) {
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [svc, who, fallback, method, done](db::unit_result& r) mutable {
            if (!r.ok) {
              audit(svc, who, "user.email_change_failed", false, who.user_id,
                    {}, {{"method", method}, {"reason", r.fail_code}});
              result<email_changed> out{unit_error(who, r, fallback)};
              return done(out);
            }
            auto out = finish_confirm(svc, who, r, method);
            done(out);
          },
          fail);
}

/// Revokes `ids` one by one through the session actor (so the cache forgets
/// them at once), then calls `then(live_count)`.
template <class Self, class Then, class Fail>
void revoke_each(Self self, const services& svc, const requester& who,
                 std::shared_ptr<std::vector<std::string>> ids,
                 std::string user_id, std::int32_t so_far, Then then,
                 Fail fail) {
  if (ids->empty())
    return then(so_far);
  revocation rv;
  rv.session_id = ids->back();
  ids->pop_back();
  rv.user_id = user_id;
  rv.reason = "email_change_cancelled";
  rv.ip = who.ip;
  rv.user_agent = who.user_agent;
  rv.request_id = who.request_id;
  rv.actor = who.actor;
  safe_request(self, svc.sessions, db_timeout, atom::revoke_atom_v,
               std::move(rv))
      .then(
          [self, svc, who, ids, user_id, so_far, then,
           fail](std::int32_t n) mutable {
            revoke_each(self, svc, who, ids, user_id, so_far + n, then, fail);
          },
          fail);
}

} // namespace email_change_detail

namespace email_change_detail {

/// Writes the request planned from `facts`. When the send guard finds the
/// new mailbox's budget spent meanwhile ("send_cap"), plans it again as
/// suppressed (no mail, the same answer) and writes that.
template <class Self, class Done, class Fail>
void write_request(Self self, const services& svc, const requester& who,
                   const email_change_input& in,
                   db::email_change_store::request_facts facts,
                   std::int64_t now, Done done, Fail fail) {
  email_change_outcome out;
  db::unit u;
  try {
    u = plan_request(svc, who, in, facts, now, out);
  } catch (const std::exception& e) {
    out.internal_cause = e.what();
    return done(out);
  }
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, svc, who, in, facts, now, out, done,
           fail](db::unit_result& r) mutable {
            if (!r.ok && r.fail_code == "send_cap"
                && facts.sent_last_hour < svc.cfg->auth.email_hourly_cap) {
              facts.sent_last_hour = svc.cfg->auth.email_hourly_cap;
              return write_request(self, svc, who, in, facts, now, done, fail);
            }
            if (!r.ok) {
              out.internal_cause = "email change insert failed: " + r.fail_code;
              return done(out);
            }
            audit(svc, who, "user.email_change_requested", true, in.user.id,
                  in.user.email,
                  {{"change_id", out.change_id}, {"outcome", out.kind}});
            caf::anon_send(svc.mailer, atom::wake_atom_v);
            done(out);
          },
          fail);
}

} // namespace email_change_detail

/// POST /v1/me/email: two round trips to the DB actor whatever the outcome
/// (three when the new mailbox's budget was spent between them).
template <class Self, class Done, class Fail>
void request_email_change(Self self, const services& svc, const requester& who,
                          const email_change_input& in, Done done, Fail fail) {
  namespace d = email_change_detail;
  auto now = svc.clock->unix_seconds();
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               d::request_facts(in, now))
      .then(
          [self, svc, who, in, now, done, fail](db::rowset& rs) mutable {
            db::email_change_store::request_facts facts;
            try {
              facts = db::email_change_store::decode_request_facts(rs);
            } catch (const std::exception& e) {
              email_change_outcome out;
              out.internal_cause = e.what();
              return done(out);
            }
            d::write_request(self, svc, who, in, facts, now, done, fail);
          },
          fail);
}

/// The new address's link (POST /v1/email-change/confirm). Errors:
/// invalid_link; conflict when another account took the address meanwhile.
template <class Self, class Done, class Fail>
void confirm_email_change_by_link(Self self, const services& svc, requester who,
                                  const std::string& token, Done done,
                                  Fail fail) {
  namespace d = email_change_detail;
  auto now = svc.clock->unix_seconds();
  d::run_confirm(
      self, svc, who,
      d::confirm_unit(db::email_change_store::confirm_by_link(
                          auth::token_hash(token), now, "invalid_link"),
                      now),
      email_errc::invalid_link, "link", done, fail);
}

/// The new address's code, typed by the signed-in user (POST
/// /v1/me/email/confirm): counts the attempt first, then compares; the last
/// allowed wrong code ends the request. Errors: flow_expired (no pending
/// request, or out of attempts), invalid_code, conflict.
template <class Self, class Done, class Fail>
void confirm_email_change_by_code(Self self, const services& svc, requester who,
                                  const std::string& code, Done done,
                                  Fail fail) {
  namespace d = email_change_detail;
  namespace store = db::email_change_store;
  auto now = svc.clock->unix_seconds();
  auto max = svc.cfg->auth.code_max_attempts;
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               db::unit{{store::count_code_attempt(who.user_id, now, max,
                                                   "flow_expired")}})
      .then(
          [self, svc, who, code, now, max, done,
           fail](db::unit_result& r) mutable {
            if (!r.ok) {
              result<email_changed> out{
                  d::unit_error(who, r, email_errc::flow_expired)};
              return done(out);
            }
            auto a = store::decode_code_attempt(r.results[0]);
            if (!d::code_matches(svc, a.id, code, a.code_hash)) {
              audit(svc, who, "user.email_change_failed", false, who.user_id,
                    {}, {{"method", "code"}, {"reason", "invalid_code"}});
              result<email_changed> out{email_errc::invalid_code};
              if (a.attempts < max)
                return done(out);
              safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                           db::unit{{store::kill_change(a.id)}})
                  .then([done, out](db::unit_result&) mutable { done(out); },
                        fail);
              return;
            }
            d::run_confirm(
                self, svc, who,
                d::confirm_unit(store::confirm_by_id(a.id, now, "flow_expired"),
                                now),
                email_errc::flow_expired, "code", done, fail);
          },
          fail);
}

/// The old address's "this was not me" (POST /v1/email-change/cancel),
/// within 72 h of the request, also after it was confirmed: restores the old
/// address, ends pending requests, revokes the sessions created since the
/// request and the one that asked. Errors: invalid_link.
template <class Self, class Done, class Fail>
void cancel_email_change(Self self, const services& svc, requester who,
                         const std::string& token, Done done, Fail fail) {
  namespace d = email_change_detail;
  namespace store = db::email_change_store;
  auto now = svc.clock->unix_seconds();
  safe_request(self, svc.db, db_timeout, atom::write_atom_v,
               d::cancel_unit(token, now))
      .then(
          [self, svc, who, done, fail](db::unit_result& r) mutable {
            if (!r.ok) {
              result<email_change_cancelled> out{
                  d::unit_error(who, r, email_errc::invalid_link)};
              return done(out);
            }
            email_change_cancelled c;
            c.change = store::decode_change_row(r.results[0]);
            c.restored = !r.results[1].empty();
            if (!r.results.back().empty())
              caf::anon_send(svc.sessions,
                             db::users_store::decode_user(r.results.back()));
            safe_request(self, svc.sessions, db_timeout, atom::list_atom_v,
                         c.change.user_id)
                .then(
                    [self, svc, who, c, done,
                     fail](std::vector<session_view>& live) mutable {
                      auto ids = std::make_shared<std::vector<std::string>>(
                          d::sessions_to_revoke(live, c.change));
                      d::revoke_each(
                          self, svc, who, ids, c.change.user_id, 0,
                          [svc, who, c, done](std::int32_t n) mutable {
                            c.revoked = n;
                            audit(svc, who, "user.email_change_cancelled", true,
                                  c.change.user_id, c.change.old_email,
                                  {{"change_id", c.change.id},
                                   {"restored", c.restored},
                                   {"sessions_revoked", n}});
                            result<email_change_cancelled> out{std::move(c)};
                            done(out);
                          },
                          fail);
                    },
                    fail);
          },
          fail);
}

} // namespace authsvc
