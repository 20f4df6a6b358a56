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

#include "front/http_front.hpp"
#include "actors/lockout_flow.hpp"
#include "auth/lockout.hpp"
#include "db/lockout_store.hpp"
#include "db/value.hpp"

namespace authsvc::lockout {

// policy_from(cfg): actors/lockout_flow.hpp.

// The statements of the failed_attempts table live in db/lockout_store;
// these names stay for the handlers that build units with them.
using db::lockout_store::append_failure;
using db::lockout_store::locked_until_sql;
using db::lockout_store::reset;
using db::lockout_store::reset_all_sources;
using db::lockout_store::unlock_unit;

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
                    const std::function<void()>& then);

/// Records a failed attempt of `method` that concerns no account (user_id
/// ''), from this request's source; when it locked the source, audits
/// `source.locked` and counts `source_lockouts_total{method}`. Runs `then`
/// afterwards in every case.
void record_source_failure(const context_ptr& ctx, const std::string& method,
                           const std::function<void()>& then);

} // namespace authsvc::http_routes
