#pragma once
// The outcome of every WebAuthn step: the verified value or a failure whose
// reason is a stable snake_case string the HTTP layer can put in
// `details.reason`. Kept free of CAF so auth/ stays pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "auth/result.hpp"

namespace authsvc::auth::webauthn {

/// Why a WebAuthn ceremony was rejected. Numbers are pinned per group of ten
/// so stored or logged codes stay meaningful when values are added.
enum class errc : std::uint8_t {
  // -- client data (§7.1 steps 5-11, §7.2 steps 10-16) --
  /// clientDataJSON is not a UTF-8 JSON object with the required members.
  malformed_client_data = 10,
  /// `type` is not the expected ceremony type.
  type_mismatch,
  /// `challenge` is not the one the RP issued.
  challenge_mismatch,
  /// `origin` is not one of the accepted origins.
  origin_mismatch,
  /// `crossOrigin` is true but the RP does not allow cross-origin use.
  cross_origin_not_allowed,
  /// `topOrigin` is not one of the accepted top-level origins.
  top_origin_mismatch,
  /// `tokenBinding.status` is missing or not a known value.
  token_binding_invalid,

  // -- authenticator data --
  /// authenticatorData is truncated or carries trailing garbage.
  malformed_authenticator_data = 30,
  /// rpIdHash is not SHA-256 of an accepted RP ID.
  rp_id_mismatch,
  /// The UP flag is clear although user presence is required.
  user_not_present,
  /// The UV flag is clear although user verification is required.
  user_not_verified,
  /// BS is set without BE (§6.1.3: not a valid combination).
  backup_state_invalid,
  /// A registration without attested credential data (AT flag).
  missing_attested_credential_data,
  /// The signature counter did not advance (possible cloned authenticator).
  counter_regression,

  // -- credential and keys --
  /// The client's PublicKeyCredential JSON is not usable.
  malformed_credential = 50,
  /// rawId is not the attested / expected credential ID.
  credential_id_mismatch,
  /// The credential ID is longer than 1023 bytes.
  credential_id_too_long,
  /// A COSE key does not parse or does not describe a valid key.
  invalid_credential_public_key,
  /// The COSE algorithm is not supported or not allowed by the RP.
  unsupported_algorithm,
  /// The assertion signature does not verify.
  signature_invalid,
  /// userHandle does not belong to the credential's user.
  user_handle_mismatch,
  /// A usernameless assertion without userHandle.
  user_handle_missing,

  // -- attestation --
  /// attestationObject is not a CBOR map with fmt, attStmt and authData.
  malformed_attestation_object = 70,
  /// `fmt` is not one this verifier knows.
  unsupported_attestation_format,
  /// attStmt lacks members or has members of the wrong type.
  attestation_statement_invalid,
  /// The attestation signature does not verify.
  attestation_signature_invalid,
  /// An attestation certificate violates its format's requirements.
  attestation_certificate_invalid,
  /// The certificate chain does not reach a configured root, or a
  /// certificate is outside its validity period at the verification time.
  attestation_trust_path_invalid,
  /// The id-fido-gen-ce-aaguid extension differs from the authData AAGUID.
  attestation_aaguid_mismatch,
  /// The attested key is not the credential public key.
  attestation_public_key_mismatch,
  /// A nonce or challenge bound into the attestation does not match.
  attestation_nonce_mismatch,
  /// The attestation verified but is not trustworthy enough for the RP's
  /// policy (§7.1 step 24), e.g. `none` where a trusted chain is required.
  attestation_not_trusted,

  // -- format specific --
  /// TPM certInfo or pubArea is malformed or inconsistent.
  tpm_attestation_invalid = 90,
  /// Android KeyDescription authorization lists violate §8.4 policy.
  android_key_authorization_list,
  /// SafetyNet ctsProfileMatch is false while the RP enforces it.
  safetynet_cts_profile_mismatch,
  /// SafetyNet timestampMs is not within 60 s of the verification time.
  safetynet_timestamp_invalid,
};

/// The stable snake_case name of a code (what `failure::reason` returns).
std::string_view to_string(errc code);

} // namespace authsvc::auth::webauthn

AUTHSVC_ERROR_ENUM(authsvc::auth::webauthn::errc,
                   authsvc::error_domain::webauthn)

namespace authsvc::auth::webauthn {

/// A rejected step: a typed error of the webauthn domain plus an internal
/// detail for logs, never for clients (the detail may name what was
/// expected).
class failure : public authsvc::error {
public:
  failure(errc code, std::string detail = {})
      : authsvc::error(code, std::move(detail)) {}

  /// The machine-readable code.
  errc code() const noexcept {
    return static_cast<errc>(authsvc::error::code());
  }

  /// The stable snake_case reason, e.g. "challenge_mismatch".
  std::string_view reason() const noexcept { return to_string(code()); }
};

/// Either a `T` or a `failure` (the service's one result template).
template <class T>
using result = basic_result<T, failure>;

/// The value of a check that yields nothing but success.
struct passed {};

/// A result that carries no value.
using status = result<passed>;

} // namespace authsvc::auth::webauthn
