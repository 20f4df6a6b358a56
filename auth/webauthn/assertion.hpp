#pragma once
// Verifying an authentication assertion: WebAuthn Level 3 §7.2.
#include <cstdint>
#include <optional>
#include <string>

#include "auth/encoding.hpp"
#include "auth/webauthn/authenticator_data.hpp"
#include "auth/webauthn/policy.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// An AuthenticatorAssertionResponse as the client sent it, decoded from
/// base64url (see parse_assertion_credential).
struct assertion_response {
  /// PublicKeyCredential.id (base64url text).
  std::string id;
  /// PublicKeyCredential.rawId: the credential the client used.
  bytes raw_id;
  bytes client_data_json;
  bytes authenticator_data;
  bytes signature;
  /// response.userHandle, absent when the client sent none.
  std::optional<bytes> user_handle;
  std::string authenticator_attachment;
};

/// What the RP stored at registration.
struct stored_credential {
  /// The credential ID; when non-empty, rawId must equal it.
  bytes credential_id;
  /// The COSE_Key bytes from registration.
  bytes public_key;
  /// The last accepted signature counter.
  std::uint32_t sign_count = 0;
  /// The owner's user handle; when non-empty and the response carries a
  /// userHandle, they must be equal.
  bytes user_handle;
};

/// The RP's expectations for an authentication.
struct assertion_options : ceremony_policy {
  stored_credential credential;
  /// Whether a counter that did not advance (and is not 0 on both sides)
  /// fails the ceremony; when false it is only reported.
  bool reject_counter_regression = true;
  /// Whether the response must carry a userHandle: when the user was not
  /// identified before the ceremony (usernameless sign-in, §7.2 step 6) it
  /// is the only statement of whose credential this is.
  bool require_user_handle = false;
};

/// A verified assertion.
struct verified_assertion {
  bytes credential_id;
  /// The new counter, to store.
  std::uint32_t sign_count = 0;
  /// True when the counter did not advance although not both are 0: a
  /// signal of a cloned authenticator the caller may log or act on.
  bool counter_regressed = false;
  authenticator_flags flags;
  std::optional<bytes> user_handle;
  std::string authenticator_attachment;
  /// The authenticator extension outputs (CBOR map) as encoded, if any.
  bytes extensions;
};

/// Runs every check of §7.2 on an assertion.
/// @returns the assertion, or a failure whose reason() names the first
///          check that failed.
result<verified_assertion> verify_assertion(const assertion_response& response,
                                            const assertion_options& options);

} // namespace authsvc::auth::webauthn
