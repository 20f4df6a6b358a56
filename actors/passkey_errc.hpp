#pragma once
// Why a passkey (WebAuthn) ceremony or passkey change was refused: the
// outcomes the passkey flows (actors/passkey_flow.hpp) return and the
// handlers map to api.md codes (front/error_table.cpp).
#include <cstdint>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "auth/result.hpp"

namespace authsvc {

enum class passkey_errc : std::uint8_t {
  /// The challenge does not exist, is not this user's, or was used.
  challenge_not_found = 1,
  /// The challenge exists but its lifetime is over.
  challenge_expired = 2,
  /// The verifier refused the credential (the reason goes in details).
  webauthn_failed = 3,
  /// A valid attestation that the configured policy does not trust.
  attestation_not_trusted = 4,
  /// The account holds `webauthn.max_passkeys` passkeys already.
  passkey_limit_reached = 5,
  /// No passkey of the signed-in user has that id.
  not_found = 6,
  /// Something that should not fail did (the detail says what): 500.
  internal = 10,
};

} // namespace authsvc

AUTHSVC_ERROR_ENUM(authsvc::passkey_errc, authsvc::error_domain::passkey)
CAF_ERROR_CODE_ENUM(authsvc::passkey_errc, "passkey")
