#pragma once
// Account lockout on the request path. Failed verifications are counted per
// account and method in `failed_attempts`; `auth.lockout_threshold`
// consecutive failures lock that method for `auth.lockout_duration` seconds,
// growing for repeated lockouts (auth/lockout.hpp), and a success resets the
// count. Callers answer a locked account exactly like a wrong code, so a lock
// never tells whether an address has an account.
//
// Methods in use: "email_code", "totp", "recovery_code"; passkeys use
// "webauthn". Email links are never locked.
#include <functional>
#include <string>

#include "actors/http_front.hpp"
#include "auth/lockout.hpp"
#include "db/value.hpp"

namespace authsvc::lockout {

/// The policy from `[auth]`: threshold, first lock, doubling up to a day
/// (or the first lock, when that is longer).
auth::lockout_policy policy_from(const config::settings& cfg);

/// SQL expression for the `locked_until` of (`user_id_sql`, method `m`):
/// splice into a read, e.g. `SELECT ..., <expr> AS locked_until`. `m` must
/// be one of the method names above (it is spliced, not bound).
std::string locked_until_sql(const std::string& user_id_sql,
                             const std::string& m);

/// Appends the two statements that record one failure atomically:
/// the first counts it (nothing changes while locked), the second locks the
/// method when the count reached the threshold and returns a row
/// (`lockouts`, `locked_until`) only then. Concurrent failures are counted
/// exactly because the DB actor runs units one after another.
/// @returns the index of the locking statement.
std::size_t append_failure(db::unit& u, const db::value& user_id,
                           const std::string& method, std::int64_t now,
                           const auth::lockout_policy& policy);

/// A success: clears the count (and earlier locks) of one method.
db::statement reset(const db::value& user_id, const std::string& method);

/// The admin unlock (POST /v1/admin/users/{id}/unlock): clears every
/// method's failures and locks of the user. Send it to the DB actor with
/// write_atom; audit "account.unlocked" after.
db::unit unlock_unit(const std::string& user_id);

} // namespace authsvc::lockout

namespace authsvc::http_routes {

/// Records a failed attempt of `method` for `user_id` (skipped when empty);
/// when this failure locked the method, audits `account.locked` and counts
/// `account_lockouts_total{method}`. Runs `then` afterwards in every case
/// (the caller replies there, so a lock answers like any failure).
void record_failure(const context_ptr& ctx, const std::string& user_id,
                    const std::string& email, const std::string& method,
                    std::function<void()> then);

/// Whether `method` is locked for `user_id` now (one read); for flows whose
/// own read cannot include locked_until_sql (passkey assertions).
void check_locked(const context_ptr& ctx, const std::string& user_id,
                  const std::string& method, std::function<void(bool)> then);

} // namespace authsvc::http_routes
