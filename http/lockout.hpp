#pragma once
// Lockout on the request path. Failed verifications are counted in
// `failed_attempts` per (account, method, source): the source is the
// client's rate-limit key (an IPv4 address or an IPv6 /64), so failures
// from one address never lock the owner out at another (issue #11, Medium
// 2). `auth.lockout_threshold` consecutive failures lock that method for
// that account from that source for `auth.lockout_duration` seconds,
// growing for repeated lockouts (auth/lockout.hpp); a success from the same
// source resets its count. Callers answer a locked attempt exactly like a
// wrong code, so a lock never tells whether an address has an account.
//
// Methods in use: "email_code", "totp", "recovery_code" (guesses at a
// secret of the account); "webauthn" for assertions against a known
// credential of the account, and "webauthn" with user_id '' for assertions
// of a source that name no usable credential (malformed ones, unknown
// ids). Email links are never locked.
#include <functional>
#include <string>

#include "actors/http_front.hpp"
#include "auth/lockout.hpp"
#include "db/value.hpp"

namespace authsvc::lockout {

/// The policy from `[auth]`: threshold, first lock, doubling up to a day
/// (or the first lock, when that is longer).
auth::lockout_policy policy_from(const config::settings& cfg);

/// SQL expression for the `locked_until` of (`user_id_sql`, method `m`,
/// `source_sql`): splice into a read, e.g. `SELECT ..., <expr> AS
/// locked_until`. `m` must be one of the method names above (it is
/// spliced, not bound); `source_sql` is a bound parameter (e.g. "?4") that
/// the caller binds to lockout_source(ctx), so statements stay cacheable.
/// 0 when there is no row.
std::string locked_until_sql(const std::string& user_id_sql,
                             const std::string& m,
                             const std::string& source_sql);

/// Appends the two statements that record one failure atomically:
/// the first counts it (nothing changes while locked), the second locks the
/// method when the count reached the threshold and returns a row
/// (`lockouts`, `locked_until`) only then. Concurrent failures are counted
/// exactly because the DB actor runs units one after another.
/// @returns the index of the locking statement.
std::size_t append_failure(db::unit& u, const db::value& user_id,
                           const std::string& method, const std::string& source,
                           std::int64_t now,
                           const auth::lockout_policy& policy);

/// A success from `source`: clears that source's count (and earlier locks)
/// of one method; other sources keep theirs.
db::statement reset(const db::value& user_id, const std::string& method,
                    const std::string& source);

/// The method's secret changed (TOTP confirmed or removed): clears its
/// counts from every source.
db::statement reset_all_sources(const db::value& user_id,
                                const std::string& method);

/// The admin unlock (POST /v1/admin/users/{id}/unlock): clears every
/// method's failures and locks of the user, from every source (source-wide
/// counters belong to no user and simply run out). Send it to the DB actor with
/// write_atom; audit "account.unlocked" after.
db::unit unlock_unit(const std::string& user_id);

} // namespace authsvc::lockout

namespace authsvc::http_routes {

/// The lockout source of a request: its client's rate-limit key (see
/// client_rate_key), so an IPv6 client cannot escape by changing the low
/// bits of its address.
std::string lockout_source(const context_ptr& ctx);

/// Records a failed attempt of `method` for `user_id` from this request's
/// source (skipped when `user_id` is empty); when this failure locked the
/// method, audits `account.locked` (with the source) and counts
/// `account_lockouts_total{method}`. Runs `then` afterwards in every case
/// (the caller replies there, so a lock answers like any failure).
void record_failure(const context_ptr& ctx, const std::string& user_id,
                    const std::string& email, const std::string& method,
                    std::function<void()> then);

/// Records a failed attempt of `method` that concerns no account (user_id
/// ''), from this request's source; when it locked the source, audits
/// `source.locked` and counts `source_lockouts_total{method}`. Runs `then`
/// afterwards in every case.
void record_source_failure(const context_ptr& ctx, const std::string& method,
                           std::function<void()> then);

} // namespace authsvc::http_routes
