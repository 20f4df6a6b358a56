#pragma once
// Failures of the store layer that callers must tell apart. A unit's
// `fail_code` (a statement's stated row count did not hold) is decoded into
// the caller's own domain enum by the store function that built the unit.
#include <cstdint>

#include "auth/result.hpp"

namespace authsvc::db {

enum class store_errc : std::uint8_t {
  /// The DB actor did not answer in time or is not open.
  unavailable = 1,
  /// A constraint held against the write (e.g. a duplicate unique key).
  constraint = 2,
  /// A row the operation needs does not exist (or no longer).
  not_found = 3,
};

} // namespace authsvc::db

AUTHSVC_ERROR_ENUM(authsvc::db::store_errc, authsvc::error_domain::store)
