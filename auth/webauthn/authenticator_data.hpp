#pragma once
// Authenticator data (WebAuthn §6.1): rpIdHash, flags, signCount, attested
// credential data (§6.5.2) and extensions, with every length checked.
#include <cstdint>
#include <optional>
#include <string>

#include "auth/encoding.hpp"
#include "auth/webauthn/cose_key.hpp"
#include "auth/webauthn/policy.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// The flag bits of §6.1.
struct authenticator_flags {
  bool user_present = false;             // UP, bit 0
  bool user_verified = false;            // UV, bit 2
  bool backup_eligible = false;          // BE, bit 3
  bool backup_state = false;             // BS, bit 4
  bool attested_credential_data = false; // AT, bit 6
  bool extension_data = false;           // ED, bit 7
};

/// Attested credential data (§6.5.2).
struct attested_credential {
  /// 16 bytes.
  bytes aaguid;
  bytes credential_id;
  cose_key public_key;
};

/// Parsed authenticator data.
struct authenticator_data {
  /// The exact bytes (signatures cover them).
  bytes raw;
  bytes rp_id_hash;
  std::uint8_t flags_byte = 0;
  authenticator_flags flags;
  std::uint32_t sign_count = 0;
  std::optional<attested_credential> attested;
  /// The extensions CBOR map as encoded, empty without the ED flag.
  bytes extensions;
};

/// Parses authenticator data.
/// @returns `malformed_authenticator_data` for truncation or trailing bytes;
///          the COSE key's own failure (`invalid_credential_public_key`,
///          `unsupported_algorithm`) when only the key is bad.
result<authenticator_data> parse_authenticator_data(const bytes& raw);

/// Checks rpIdHash, UP, UV and the BE/BS combination against the policy.
status check_authenticator_data(const authenticator_data& data,
                                const ceremony_policy& policy);

/// Formats a 16-byte AAGUID as 8-4-4-4-12 lower-case hex.
std::string format_aaguid(const bytes& aaguid);

} // namespace authsvc::auth::webauthn
