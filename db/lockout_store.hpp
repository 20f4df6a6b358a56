#pragma once
// The lockout tables: `failed_attempts` (failures per account, method and
// source, and the locks they led to) and `timing_pad` (one row that refusals
// without a failure to record write, so their commit costs the same). Plain
// functions that build statements; the DB actor runs them. No other file
// holds SQL of these tables.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/lockout.hpp"
#include "db/value.hpp"

namespace authsvc::db::lockout_store {

/// SQL expression for the `locked_until` of (`user_id_sql`, method `m`,
/// `source_sql`), for other stores' reads to splice in (`..., <expr> AS
/// locked_until`). `m` must be a fixed method name (it is spliced, not
/// bound); `source_sql` is a bound parameter (e.g. "?4"), so statements stay
/// cacheable. 0 when there is no row.
std::string locked_until_sql(const std::string& user_id_sql,
                             const std::string& m,
                             const std::string& source_sql);

/// Appends the two statements that record one failure atomically: the first
/// counts it (nothing changes while locked), the second locks the method when
/// the count reached the threshold and returns a row (`lockouts`,
/// `locked_until`) only then. @returns the index of the locking statement.
std::size_t append_failure(unit& u, const value& user_id,
                           const std::string& method, const std::string& source,
                           std::int64_t now,
                           const auth::lockout_policy& policy);

/// What the locking statement of append_failure returned, when it locked.
struct lock_record {
  std::int64_t lockouts = 0;
  std::int64_t locked_until = 0;
};

/// The lock in the locking statement's rows (call only when not empty).
lock_record decode_lock(const rowset& rs);

/// A success from `source`: clears that source's count of one method.
statement reset(const value& user_id, const std::string& method,
                const std::string& source);

/// The method's secret changed: clears its counts from every source.
statement reset_all_sources(const value& user_id, const std::string& method);

/// The admin unlock: clears every method's failures and locks of the user.
unit unlock_unit(const std::string& user_id);

/// The write of a refusal with no failure to record (unknown address, locked
/// account): append_failure's two statements on the one row of
/// `timing_pad` (an upsert that changes the row, then a conditional update
/// that never matches), so its commit costs what a recorded failure's does.
unit timing_pad(std::int64_t now);

} // namespace authsvc::db::lockout_store
