#pragma once
// Attestation objects (WebAuthn §6.5) and the dispatch to the statement
// format verifiers of §8 (none, packed, fido-u2f, tpm, android-key,
// android-safetynet, apple).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/encoding.hpp"
#include "auth/webauthn/authenticator_data.hpp"
#include "auth/webauthn/cbor.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// The attestation types of §6.5.3.
enum class attestation_type : std::uint8_t {
  none,
  self,
  basic,
  attca,
  anonca,
};

/// "none", "self", "basic", "attca" or "anonca".
std::string_view to_string(attestation_type type);

/// A root (or intermediate) certificate the RP trusts for attestation.
struct trust_anchor {
  /// A name for logs and results, e.g. "apple_webauthn_root_ca".
  std::string name;
  /// PEM text or raw DER bytes.
  std::string certificate;
};

/// How attestation statements are judged.
struct attestation_policy {
  /// Roots to chain x5c certificates to. Empty means no chain-to-root
  /// validation (each certificate's validity period is still checked).
  std::vector<trust_anchor> trust_anchors;
  /// The time (unix seconds) for certificate validity and SafetyNet
  /// freshness. Passed in: the verifier never reads the clock.
  std::int64_t verify_time = 0;
  /// Rejects SafetyNet responses whose ctsProfileMatch is false.
  bool safetynet_enforce_cts_profile = true;
  /// Rejects SafetyNet responses whose timestampMs is more than 60 s away
  /// from verify_time.
  bool safetynet_check_timestamp = true;
};

/// A decoded attestationObject.
struct attestation_object {
  std::string fmt;
  /// attStmt (a CBOR map), owned.
  cbor_ptr statement;
  authenticator_data auth_data;
};

/// What a successful statement verification established.
struct attestation_outcome {
  attestation_type type = attestation_type::none;
  /// The x5c certificates (DER), leaf first; empty without x5c.
  std::vector<bytes> trust_path;
  /// True when the path was validated up to a configured trust anchor.
  bool chained_to_anchor = false;
};

/// Decodes an attestationObject.
/// @returns `malformed_attestation_object` for bad CBOR or missing members;
///          authenticator data failures as parse_authenticator_data reports.
result<attestation_object> parse_attestation_object(const bytes& encoded);

/// Verifies the statement of `object` (§7.1 steps 19-21).
/// @param client_data_hash SHA-256 of clientDataJSON.
result<attestation_outcome>
verify_attestation_statement(const attestation_object& object,
                             const bytes& client_data_hash,
                             const attestation_policy& policy);

} // namespace authsvc::auth::webauthn
