#pragma once
// The failed_attempts table (lockout per account, method and source): the
// statements and expressions that read and change it. The policy and the
// request-side helpers live with the front (lockout::policy_from,
// record_failure); the SQL lives here.
#include <string>

#include "db/value.hpp"

namespace authsvc::db::lockout_store {

// -- passkeys and TOTP --

/// SQL expression for the `locked_until` of (`user_id_sql`, method `m`,
/// `source_sql`), 0 when there is no row: splice into a read as
/// `<expr> AS locked_until`. `m` must be one of the method names of
/// http/lockout.hpp (it is spliced, not bound); `source_sql` names a bound
/// parameter (e.g. "?4"), so statements stay cacheable.
std::string locked_until(const std::string& user_id_sql, const std::string& m,
                         const std::string& source_sql);

/// A success from `source`: clears that source's count (and earlier locks)
/// of one method; other sources keep theirs.
statement reset(const value& user_id, const std::string& method,
                const std::string& source);

/// The method's secret changed: clears its counts from every source.
statement reset_all_sources(const value& user_id, const std::string& method);

} // namespace authsvc::db::lockout_store
