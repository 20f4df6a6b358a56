#pragma once
// Webhook signatures in the Standard Webhooks format
// (https://www.standardwebhooks.com, spec/standard-webhooks.md), so that
// receivers can verify our deliveries with any of its libraries:
//   webhook-id: <msg_id>
//   webhook-timestamp: <unix seconds>
//   webhook-signature: v1,<base64 HMAC-SHA256(key, msg_id.timestamp.body)>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/encoding.hpp"

namespace authsvc::auth {

namespace defaults {

/// Accepted clock difference between signer and verifier (5 minutes, as the
/// reference libraries use).
constexpr std::int64_t webhook_tolerance_seconds = 300;

/// Key size of generated secrets (the spec asks for 24 to 64 bytes).
constexpr std::size_t webhook_secret_bytes = 32;

} // namespace defaults

/// Outcome of verify_webhook. Values are pinned.
enum class webhook_verify_result : std::uint8_t {
  ok = 0,
  /// The secret is not `whsec_` + standard base64 of a non-empty key.
  invalid_secret = 10,
  /// The timestamp is more than the tolerance in the past.
  timestamp_too_old = 20,
  /// The timestamp is more than the tolerance in the future.
  timestamp_too_new = 21,
  /// No `v1,` entry in the header carries the expected signature.
  no_matching_signature = 30,
};

/// Names the result (`"timestamp_too_old"`).
std::string_view to_string(webhook_verify_result result) noexcept;

/// A fresh secret, `whsec_` + base64 of 32 random bytes.
std::string generate_webhook_secret();

/// Decodes `whsec_<base64>` into the HMAC key. The prefix is optional, as in
/// the reference libraries.
/// @returns nullopt for bad base64 or an empty key.
std::optional<bytes> decode_webhook_secret(std::string_view secret);

/// The `webhook-signature` value for one delivery: `v1,<base64>`.
/// @returns nullopt when the secret does not decode.
std::optional<std::string> sign_webhook(std::string_view secret,
                                        std::string_view msg_id,
                                        std::int64_t timestamp,
                                        std::string_view body);

/// Verifies a `webhook-signature` header, which may hold several
/// space-separated `version,signature` entries (during key rotation). Only
/// `v1` entries count; others are ignored. Every v1 entry is compared in
/// constant time and all of them are compared, so timing reveals neither
/// which entry matched nor how much of one did. The timestamp must lie
/// within `tolerance_seconds` of `now`; it is checked before the signature
/// only because both are needed and the order leaks nothing secret.
webhook_verify_result verify_webhook(
    std::string_view secret, std::string_view msg_id, std::int64_t timestamp,
    std::string_view body, std::string_view signature_header, std::int64_t now,
    std::int64_t tolerance_seconds = defaults::webhook_tolerance_seconds);

} // namespace authsvc::auth
