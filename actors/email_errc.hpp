#pragma once
// Failures of the email sign-in flows (start, link, code, hand-over,
// exchange) that callers tell apart. Each maps to one api.md code in
// front/error_table.cpp; the flows answer them as authsvc::error, and CAF
// carries them between actors as caf::error of category "email".
#include <cstdint>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include "auth/result.hpp"

namespace authsvc {

enum class email_errc : std::uint8_t {
  /// The link is unknown, used, expired, or its flow has no hand-over.
  invalid_link = 1,
  /// A wrong (or locked-out) code; the flow may take another one.
  invalid_code = 2,
  /// The flow is unknown, expired, out of code attempts, or not the
  /// caller's (wrong flow secret).
  flow_expired = 3,
  /// The hand-over's numbers did not match: the flow is dead.
  handover_refused = 4,
  /// A one-time exchange code that is unknown, used or expired.
  invalid_exchange_code = 5,
  /// A new address while sign-up is disabled.
  signup_disabled = 6,
  /// redirect_to is not in the allow list.
  redirect_not_allowed = 7,
};

} // namespace authsvc

AUTHSVC_ERROR_ENUM(authsvc::email_errc, authsvc::error_domain::email)
CAF_ERROR_CODE_ENUM(authsvc::email_errc, "email")
