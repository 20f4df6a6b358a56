#pragma once
// Why a TOTP enrolment, TOTP check or recovery-code sign-in was refused:
// the outcomes the TOTP flows (actors/totp_flow.hpp) return and the
// handlers map to api.md codes (front/error_table.cpp).
#include <cstdint>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "auth/result.hpp"

namespace authsvc {

enum class totp_errc : std::uint8_t {
  /// A wrong, replayed or locked code (one answer for all three).
  invalid_code = 1,
  /// Enrolment while a confirmed TOTP exists.
  already_enabled = 2,
  /// Confirmation without a pending enrolment.
  not_pending = 3,
  /// A check of the signed-in user's code while TOTP is off (409 conflict).
  not_enabled = 4,
  /// Something that should not fail did (the detail says what): 500.
  internal = 10,
};

} // namespace authsvc

AUTHSVC_ERROR_ENUM(authsvc::totp_errc, authsvc::error_domain::totp)
CAF_ERROR_CODE_ENUM(authsvc::totp_errc, "totp")
