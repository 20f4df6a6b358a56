#pragma once
// Decoding a client's PublicKeyCredential JSON (WebAuthn §5.1,
// toJSON()/RegistrationResponseJSON/AuthenticationResponseJSON) into the
// verifier's input structs.
#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "auth/webauthn/assertion.hpp"
#include "auth/webauthn/registration.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// Either kind of response, as parse_credential_json found it.
struct parsed_credential {
  std::variant<registration_response, assertion_response> response;

  /// True when the JSON carried an attestationObject.
  bool is_registration() const noexcept { return response.index() == 0; }
};

/// Decodes a PublicKeyCredential JSON of either kind: a response with
/// attestationObject is a registration, one with authenticatorData and
/// signature an assertion.
/// @returns `malformed_credential` when type is not "public-key", a binary
///          member is not base64url, required members are missing, or id and
///          rawId name different bytes.
result<parsed_credential> parse_credential_json(const nlohmann::json& json);

/// Like parse_credential_json, but requires a registration.
result<registration_response>
parse_registration_credential(const nlohmann::json& json);

/// Like parse_credential_json, but requires an assertion.
result<assertion_response>
parse_assertion_credential(const nlohmann::json& json);

} // namespace authsvc::auth::webauthn
