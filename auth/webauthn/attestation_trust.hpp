#pragma once
// The RP's attestation trust policy (`webauthn.attestation_policy`): which
// verified attestation types a registration may carry (WebAuthn §7.1 steps
// 23-24: assess the attestation's trustworthiness, and fail the ceremony
// when it is not trustworthy enough).
#include <cstdint>
#include <optional>
#include <string_view>

#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// What a registration's attestation must prove.
enum class attestation_trust : std::uint8_t {
  /// "none": any attestation that verifies, also `none` and self (the
  /// default: most passkey providers send `none`).
  none,
  /// "allow-self": self attestation, or a chain to a configured trust
  /// anchor; refuses `none` and chains that nothing vouches for.
  allow_self,
  /// "require-trusted": only an x5c chain validated up to a configured
  /// trust anchor (basic, attca, anonca).
  require_trusted,
};

/// "none", "allow-self" or "require-trusted".
std::string_view to_string(attestation_trust policy);

/// The policy named `text` exactly as in the configuration, else nullopt.
std::optional<attestation_trust> parse_attestation_trust(std::string_view text);

/// Decides whether a verified attestation satisfies `policy`.
/// @param type what the statement verification established.
/// @param chained_to_anchor whether its x5c chain was validated up to a
///        configured trust anchor (attestation_outcome::chained_to_anchor).
/// @returns `attestation_not_trusted` when it does not.
status check_attestation_trust(attestation_trust policy, attestation_type type,
                               bool chained_to_anchor);

} // namespace authsvc::auth::webauthn
