#pragma once
// The core of starting an email sign-in (POST /v1/auth/email/start), shared
// by the HTTP handler and the CAF API actor: check the input, read the
// facts in one query, write the flow (and the mail job) in one unit, audit,
// wake the mailer. Callers translate the outcome into their own answers.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/db_timeout.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/type_ids.hpp"
#include "db/flows_store.hpp"

namespace authsvc {

/// A start request from any front end.
struct email_start_input {
  std::string email; ///< normalised by check_email_start
  std::optional<std::string> redirect_to;
  std::optional<std::string> locale;
  std::string accept_language;
  std::string ip;         ///< the end user's address (shown in the mail)
  std::string user_agent; ///< at most 512 characters
  std::string request_id;
  std::string actor; ///< who asked on someone's behalf, e.g. "caf:<node>"
};

/// What happened; the same for known and unknown addresses.
struct email_start_outcome {
  /// Non-empty: nothing usable happened (log it, answer internal_error).
  std::string internal_cause;
  std::string flow_id;
  std::string flow_secret;
  /// The number the starting device shows; the approving page asks for it
  /// before it hands the session to this device.
  int match_number = 0;
  std::int64_t expires_in = 0;
  /// Why no mail was sent ("" = sent): for operators only.
  std::string suppressed;
};

/// A (field, problem) pair for a validation_failed answer.
using field_problem = std::pair<std::string, std::string>;

/// Normalises the address into `normalised` and checks redirect_to against
/// the allow list. `email_in` nullopt means the caller already reported it.
std::vector<field_problem> check_email_start(
    const config::settings& cfg, const std::optional<std::string>& email_in,
    const std::optional<std::string>& redirect_to, std::string& normalised);

namespace email_start_detail {

/// The one read: does the address have an account, its locale, send caps.
db::statement facts(const std::string& email, std::int64_t now);

/// Decides and builds the one write; fills `out`. May throw.
db::unit plan(const services& svc, const email_start_input& in,
              const db::flows_store::start_facts& facts, std::int64_t now,
              email_start_outcome& out);

/// After the write committed: audit, wake the mailer, count suppressions.
void finish(const services& svc, const email_start_input& in,
            const email_start_outcome& out);

} // namespace email_start_detail

namespace email_start_detail {

/// The write of a start whose send the budget guard refused: the same
/// dead flow as a start suppressed by the read.
template <class Self, class Done, class Fail>
void write_suppressed(Self self, const services& svc,
                      const email_start_input& in, std::int64_t now,
                      db::flows_store::start_facts facts, Done done,
                      Fail fail) {
  email_start_outcome out;
  db::unit u;
  facts.sent_last_hour
      = std::max(facts.sent_last_hour, svc.cfg->auth.email_hourly_cap);
  try {
    u = plan(svc, in, facts, now, out);
  } catch (const std::exception& e) {
    out.internal_cause = e.what();
    return done(out);
  }
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [svc, in, out, done](db::unit_result& r) mutable {
            if (!r.ok) {
              out.internal_cause = "flow insert failed: " + r.fail_code;
              return done(out);
            }
            finish(svc, in, out);
            done(out);
          },
          fail);
}

} // namespace email_start_detail

/// Runs the flow from actor `self` (any typed event-based actor): two round
/// trips to the DB actor whether or not the address has an account.
/// `done(email_start_outcome&)` is called once, unless a round trip fails:
/// then `fail(caf::error&)` is.
template <class Self, class Done, class Fail>
void start_email_flow(Self self, const services& svc,
                      const email_start_input& in, Done done, Fail fail) {
  namespace d = email_start_detail;
  auto now = svc.clock->unix_seconds();
  safe_request(self, svc.db, db_timeout, atom::query_atom_v,
               d::facts(in.email, now))
      .then(
          [self, svc, in, now, done, fail](db::rowset& rs) mutable {
            email_start_outcome out;
            db::unit u;
            try {
              u = d::plan(svc, in, db::flows_store::decode_start_facts(rs), now,
                          out);
            } catch (const std::exception& e) {
              out.internal_cause = e.what();
              return done(out);
            }
            auto facts = db::flows_store::decode_start_facts(rs);
            safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                         std::move(u))
                .then(
                    [self, svc, in, now, facts, out, done,
                     fail](db::unit_result& r) mutable {
                      if (!r.ok && r.fail_code == "send_cap") {
                        // Concurrent starts (on this node or another) used
                        // the mailbox's budget after our read: this one is
                        // suppressed after all, and answered the same way.
                        return d::write_suppressed(self, svc, in, now, facts,
                                                   done, fail);
                      }
                      if (!r.ok) {
                        out.internal_cause
                            = "flow insert failed: " + r.fail_code;
                        return done(out);
                      }
                      d::finish(svc, in, out);
                      done(out);
                    },
                    fail);
          },
          fail);
}

} // namespace authsvc
