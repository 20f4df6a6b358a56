#pragma once
// CollectedClientData (WebAuthn §5.8.1): parsing and the checks of §7.1
// steps 5-11 and §7.2 steps 10-16.
#include <optional>
#include <string>
#include <string_view>

#include "auth/encoding.hpp"
#include "auth/webauthn/policy.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// The members of clientDataJSON the RP checks; others are tolerated.
struct client_data {
  std::string type;
  /// base64url as the client wrote it.
  std::string challenge;
  std::string origin;
  bool cross_origin = false;
  std::optional<std::string> top_origin;
  /// True when `tokenBinding` is an object (pre-standard clients send a
  /// string, which carries no information and is ignored).
  bool has_token_binding = false;
  /// `tokenBinding.status` when present.
  std::optional<std::string> token_binding_status;
};

/// Parses clientDataJSON.
/// @returns `malformed_client_data` unless it is a JSON object with string
///          type, challenge and origin (and boolean crossOrigin if present).
result<client_data> parse_client_data(const bytes& text);

/// Checks type, challenge, origin, crossOrigin/topOrigin and tokenBinding in
/// the order of §7.1.
/// @param default_type "webauthn.create" or "webauthn.get", used when the
///        policy names no types.
status check_client_data(const client_data& data, const ceremony_policy& policy,
                         std::string_view default_type);

} // namespace authsvc::auth::webauthn
