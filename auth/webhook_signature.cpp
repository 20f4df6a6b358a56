#include "auth/webhook_signature.hpp"

#include "auth/crypto.hpp"

namespace authsvc::auth {

namespace {

constexpr std::string_view secret_prefix = "whsec_";

/// The base64 signature (without `v1,`) over `id.timestamp.body`.
std::string signature_of(const bytes& key, std::string_view msg_id,
                         std::int64_t timestamp, std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + body.size() + 22);
  content.append(msg_id);
  content += '.';
  content += std::to_string(timestamp);
  content += '.';
  content.append(body);
  return base64_encode(hmac_sha256(to_string(key), content));
}

} // namespace

std::string_view to_string(webhook_verify_result result) noexcept {
  switch (result) {
  case webhook_verify_result::ok:
    return "ok";
  case webhook_verify_result::invalid_secret:
    return "invalid_secret";
  case webhook_verify_result::timestamp_too_old:
    return "timestamp_too_old";
  case webhook_verify_result::timestamp_too_new:
    return "timestamp_too_new";
  case webhook_verify_result::no_matching_signature:
    return "no_matching_signature";
  }
  return "unknown";
}

std::string generate_webhook_secret() {
  return std::string(secret_prefix)
         + base64_encode(random_bytes(defaults::webhook_secret_bytes));
}

std::optional<bytes> decode_webhook_secret(std::string_view secret) {
  if (secret.substr(0, secret_prefix.size()) == secret_prefix)
    secret.remove_prefix(secret_prefix.size());
  auto key = base64_decode(secret);
  if (!key || key->empty())
    return std::nullopt;
  return key;
}

std::optional<std::string> sign_webhook(std::string_view secret,
                                        std::string_view msg_id,
                                        std::int64_t timestamp,
                                        std::string_view body) {
  auto key = decode_webhook_secret(secret);
  if (!key)
    return std::nullopt;
  return "v1," + signature_of(*key, msg_id, timestamp, body);
}

webhook_verify_result
verify_webhook(std::string_view secret, std::string_view msg_id,
               std::int64_t timestamp, std::string_view body,
               std::string_view signature_header, std::int64_t now,
               std::int64_t tolerance_seconds) {
  auto key = decode_webhook_secret(secret);
  if (!key)
    return webhook_verify_result::invalid_secret;
  if (timestamp < now - tolerance_seconds)
    return webhook_verify_result::timestamp_too_old;
  if (timestamp > now + tolerance_seconds)
    return webhook_verify_result::timestamp_too_new;
  auto expected = signature_of(*key, msg_id, timestamp, body);
  bool matched = false;
  std::size_t start = 0;
  while (start < signature_header.size()) {
    auto space = signature_header.find(' ', start);
    auto entry = signature_header.substr(start, space == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : space - start);
    start
        = space == std::string_view::npos ? signature_header.size() : space + 1;
    if (entry.substr(0, 3) != "v1,")
      continue;
    // No early exit: every candidate costs the same.
    matched |= constant_time_equal(entry.substr(3), expected);
  }
  return matched ? webhook_verify_result::ok
                 : webhook_verify_result::no_matching_signature;
}

} // namespace authsvc::auth
