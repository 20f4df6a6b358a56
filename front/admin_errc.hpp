#pragma once
// Failures of the admin API (front/admin_routes.cpp) that clients tell apart.
#include <cstdint>

#include "auth/result.hpp"

namespace authsvc::http {

enum class admin_errc : std::uint8_t {
  /// No user, session, rule, webhook... with that id (404 not_found).
  not_found = 1,
  /// The change collides with what exists, e.g. the same IP rule twice
  /// (409 conflict).
  conflict = 2,
  /// A query parameter or body field is malformed (422 validation_failed).
  validation_failed = 3,
  /// The IP rules after the change would deny the caller's own address
  /// (409 would_lock_out_caller; `force` overrides).
  would_lock_out_caller = 4,
};

} // namespace authsvc::http

AUTHSVC_ERROR_ENUM(authsvc::http::admin_errc, authsvc::error_domain::admin)
