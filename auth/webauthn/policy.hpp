#pragma once
// What the relying party expects of a ceremony, shared by registration
// (§7.1) and authentication (§7.2).
#include <string>
#include <vector>

#include "auth/encoding.hpp"

namespace authsvc::auth::webauthn {

/// The RP's expectations common to both ceremonies.
struct ceremony_policy {
  /// The challenge the RP issued for this ceremony (raw bytes).
  bytes expected_challenge;
  /// Accepted RP IDs; authData.rpIdHash must be SHA-256 of one of them.
  std::vector<std::string> rp_ids;
  /// Accepted origins, compared exactly with clientDataJSON.origin.
  std::vector<std::string> origins;
  /// Whether `crossOrigin: true` (an iframe on another site) is acceptable.
  bool allow_cross_origin = false;
  /// Accepted `topOrigin` values when cross-origin use is allowed; empty
  /// accepts any top origin.
  std::vector<std::string> top_origins;
  /// Requires the UV flag (userVerification "required").
  bool require_user_verification = false;
  /// Requires the UP flag; false only for conditional create (§7.1 step 14).
  bool require_user_presence = true;
  /// Accepted COSE algorithms; empty means default_credential_algorithms()
  /// (plus RS1 for TPM-attested registrations).
  std::vector<int> allowed_algorithms;
  /// Accepted clientDataJSON.type values; empty means the ceremony's
  /// standard type ("webauthn.create" or "webauthn.get").
  std::vector<std::string> expected_types;
};

} // namespace authsvc::auth::webauthn
