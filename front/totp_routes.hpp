#pragma once
// TOTP (authenticator apps, RFC 6238) and one-shot recovery codes:
// enrolment for the signed-in user only, sign-in by email + code with replay
// protection and lockout, recovery-code sign-in.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/me/totp: a new pending secret for the bearer's account.
void totp_enrol(const context_ptr& ctx);

/// Handles POST /v1/me/totp/confirm: enables TOTP, issues recovery codes.
void totp_confirm(const context_ptr& ctx);

/// Handles DELETE /v1/me/totp: needs a current code; removes recovery codes.
void totp_disable(const context_ptr& ctx);

/// Handles POST /v1/me/totp/recovery-codes: replaces all recovery codes.
void totp_recovery_codes(const context_ptr& ctx);

/// Handles POST /v1/auth/totp/verify: signs in with email + TOTP code.
void totp_verify(const context_ptr& ctx);

/// Handles POST /v1/auth/recovery: signs in with email + recovery code.
void recovery_sign_in(const context_ptr& ctx);

} // namespace authsvc::http_routes
