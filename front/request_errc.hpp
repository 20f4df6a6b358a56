#pragma once
// Errors in the request itself, found by the front layer before any owner is
// asked: framing, JSON, authentication headers, CORS, limits.
#include <cstdint>

#include "auth/result.hpp"

namespace authsvc::http {

enum class request_errc : std::uint8_t {
  bad_request = 1,
  invalid_json,
  unsupported_media_type,
  validation_failed,
  payload_too_large,
  header_too_large,
  not_found,
  method_not_allowed,
  unauthorized,
  forbidden,
  cors_denied,
  cross_site_request,
  rate_limited,
  conflict,
  internal_error,
  service_unavailable,
  reauthentication_required,
};

} // namespace authsvc::http

AUTHSVC_ERROR_ENUM(authsvc::http::request_errc, authsvc::error_domain::request)
