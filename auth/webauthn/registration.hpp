#pragma once
// Registering a new credential: WebAuthn Level 3 §7.1.
#include <cstdint>
#include <string>
#include <vector>

#include "auth/encoding.hpp"
#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/attestation_trust.hpp"
#include "auth/webauthn/authenticator_data.hpp"
#include "auth/webauthn/policy.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// An AuthenticatorAttestationResponse as the client sent it, decoded from
/// base64url (see parse_registration_credential).
struct registration_response {
  /// PublicKeyCredential.id (base64url text).
  std::string id;
  /// PublicKeyCredential.rawId.
  bytes raw_id;
  bytes client_data_json;
  bytes attestation_object;
  /// response.transports, passed through for storage.
  std::vector<std::string> transports;
  /// authenticatorAttachment ("platform", "cross-platform" or empty).
  std::string authenticator_attachment;
};

/// The RP's expectations for a registration.
struct registration_options : ceremony_policy {
  /// Trust anchors, verification time and format policies.
  attestation_policy attestation;
  /// Accepted attestation formats; empty accepts every supported format.
  std::vector<std::string> allowed_formats;
  /// Which verified attestation types are trustworthy enough (§7.1 step 24);
  /// the default accepts every attestation that verifies.
  attestation_trust trust = attestation_trust::none;
  /// Requires rawId to equal the attested credential ID (§7.1 step 23
  /// implies it; only lenient test fixtures turn this off).
  bool require_raw_id_match = true;
};

/// A verified new credential, ready to store.
struct registered_credential {
  /// Attestation statement format, e.g. "packed".
  std::string fmt;
  bytes credential_id;
  /// The COSE_Key bytes exactly as the authenticator produced them.
  bytes public_key;
  /// The credential's COSE algorithm.
  int alg = 0;
  std::uint32_t sign_count = 0;
  /// 16 bytes; see format_aaguid for the text form.
  bytes aaguid;
  authenticator_flags flags;
  attestation_type attestation = attestation_type::none;
  /// x5c certificates (DER, leaf first), empty without x5c.
  std::vector<bytes> trust_path;
  /// True when trust_path was validated up to a configured anchor.
  bool attestation_chained = false;
  std::vector<std::string> transports;
  std::string authenticator_attachment;
  /// The authenticator extension outputs (CBOR map) as encoded, if any.
  bytes extensions;
};

/// Runs every check of §7.1 on a registration response.
/// @returns the credential, or a failure whose reason() names the first
///          check that failed.
result<registered_credential>
verify_registration(const registration_response& response,
                    const registration_options& options);

} // namespace authsvc::auth::webauthn
