#pragma once
// Recording failed verifications for lockout, from any actor: one unit of
// db::lockout_store::append_failure per failure, counted per (account,
// method, source) so failures from one address never lock the owner out at
// another; when a failure locks, the lock is audited and counted. The caller
// answers after `then`, in every case, so a lock answers like any failure.
#include <string>
#include <utility>

#include "actors/db_timeout.hpp"
#include "actors/requester.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/type_ids.hpp"
#include "auth/lockout.hpp"
#include "db/lockout_store.hpp"

namespace authsvc::lockout {

/// The policy from `[auth]`: threshold, first lock, doubling up to a day
/// (or the first lock, when that is longer).
auth::lockout_policy policy_from(const config::settings& cfg);

} // namespace authsvc::lockout

namespace authsvc {

namespace lockout_detail {

/// Audits and counts a lock of (`user_id`, `method`) from `who.source`:
/// `account.locked` (account_lockouts_total) for an account, else
/// `source.locked` (source_lockouts_total).
void report_lock(const services& svc, const requester& who,
                 const std::string& user_id, const std::string& email,
                 const std::string& method,
                 const db::lockout_store::lock_record& lock);

} // namespace lockout_detail

/// Records one failure of `method` for `user_id` ('' = a failure that
/// concerns no account: counted for the source alone) from `who.source`,
/// then calls `then()`. A failure to record is noted as `lockout_record`
/// and does not stop `then`.
template <class Self, class Then>
void record_lockout_failure(Self self, const services& svc,
                            const requester& who, const std::string& user_id,
                            const std::string& email, const std::string& method,
                            Then then) {
  db::unit u;
  auto lock_index = db::lockout_store::append_failure(
      u, db::value::text(user_id), method, who.source,
      svc.clock->unix_seconds(), lockout::policy_from(*svc.cfg));
  safe_request(self, svc.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [svc, who, user_id, email, method, then,
           lock_index](db::unit_result& r) mutable {
            if (r.ok && lock_index < r.results.size()
                && !r.results[lock_index].empty())
              lockout_detail::report_lock(
                  svc, who, user_id, email, method,
                  db::lockout_store::decode_lock(r.results[lock_index]));
            else if (!r.ok)
              note(who, "lockout_record", r.fail_code);
            then();
          },
          [who, then](caf::error& e) mutable {
            note(who, "lockout_record", caf::to_string(e));
            then();
          });
}

} // namespace authsvc
