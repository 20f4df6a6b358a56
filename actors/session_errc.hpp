#pragma once
// Why the session actor refused: a refresh token, an access token or a
// session. Crosses actors (the session actor answers refreshes with it as a
// caf::error), so it is registered with CAF under the category "session";
// front/error_table.cpp maps each value to its api.md code.
#include <cstdint>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "auth/result.hpp"

namespace authsvc {

enum class session_errc : std::uint8_t {
  /// Unknown, malformed, expired or revoked refresh token.
  invalid_refresh_token = 1,
  /// A rotated refresh token presented after its grace window: the session
  /// was revoked.
  refresh_token_reused = 2,
  /// The access token is invalid, expired, or its session is not live.
  unauthorized = 3,
  /// Keys and sessions are not loaded yet, or the database did not answer.
  unavailable = 4,
  /// A write that should not fail did.
  internal = 5,
};

} // namespace authsvc

AUTHSVC_ERROR_ENUM(authsvc::session_errc, authsvc::error_domain::session)
CAF_ERROR_CODE_ENUM(authsvc::session_errc, "session")
