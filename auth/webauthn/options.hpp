#pragma once
// PublicKeyCredentialCreationOptions and PublicKeyCredentialRequestOptions
// (WebAuthn §5.4, §5.5) in their JSON form (binary members base64url), as
// the browser's parseCreationOptionsFromJSON / parseRequestOptionsFromJSON
// expect them.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "auth/encoding.hpp"

namespace authsvc::auth::webauthn {

/// A PublicKeyCredentialDescriptor (§5.8.3).
struct credential_descriptor {
  bytes id;
  /// "usb", "nfc", "ble", "hybrid", "internal"; empty omits the member.
  std::vector<std::string> transports;
};

/// Inputs for navigator.credentials.create().
struct creation_options_params {
  std::string rp_id;
  std::string rp_name;
  /// The user handle: random, at most 64 bytes, no personal data.
  bytes user_id;
  std::string user_name;
  std::string user_display_name;
  bytes challenge;
  /// COSE algorithms in order of preference.
  std::vector<int> algorithms{-8, -7, -257};
  std::uint32_t timeout_ms = 300'000;
  /// Credentials the user already has, so the authenticator refuses twins.
  std::vector<credential_descriptor> exclude_credentials;
  /// "discouraged", "preferred" or "required".
  std::string resident_key = "preferred";
  /// "discouraged", "preferred" or "required".
  std::string user_verification = "preferred";
  /// "none", "indirect", "direct" or "enterprise".
  std::string attestation = "none";
  /// "platform" or "cross-platform"; empty omits it.
  std::string authenticator_attachment;
};

/// Inputs for navigator.credentials.get().
struct request_options_params {
  bytes challenge;
  std::string rp_id;
  std::uint32_t timeout_ms = 300'000;
  std::string user_verification = "preferred";
  /// Empty for discoverable (username-less) login.
  std::vector<credential_descriptor> allow_credentials;
};

/// Builds PublicKeyCredentialCreationOptionsJSON.
nlohmann::json make_creation_options(const creation_options_params& params);

/// Builds PublicKeyCredentialRequestOptionsJSON.
nlohmann::json make_request_options(const request_options_params& params);

} // namespace authsvc::auth::webauthn
