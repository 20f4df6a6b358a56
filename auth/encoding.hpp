#pragma once
// Text encodings of binary data (RFC 4648 base64 / base64url, hex).
// Decoders return std::nullopt on any malformed input instead of throwing,
// because every caller feeds them untrusted bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::auth {

using bytes = std::vector<std::uint8_t>;

/// Converts a string's characters to bytes, one to one.
bytes to_bytes(std::string_view s);

/// Converts bytes to a string, one to one.
std::string to_string(const bytes& b);

/// Encodes as base64url without padding (RFC 4648 §5).
std::string base64url_encode(const std::uint8_t* data, std::size_t size);
std::string base64url_encode(const bytes& data);
std::string base64url_encode(std::string_view data);

/// Decodes base64url; padding is accepted but not required.
/// @returns nullopt for characters outside the alphabet or an impossible
/// length.
std::optional<bytes> base64url_decode(std::string_view text);

/// Encodes as standard base64 with padding (RFC 4648 §4).
std::string base64_encode(const std::uint8_t* data, std::size_t size);
std::string base64_encode(const bytes& data);
std::string base64_encode(std::string_view data);

/// Decodes standard base64 (padding optional, no whitespace).
std::optional<bytes> base64_decode(std::string_view text);

/// Lower-case hexadecimal.
std::string hex_encode(const std::uint8_t* data, std::size_t size);
std::string hex_encode(const bytes& data);
std::string hex_encode(std::string_view data);

/// Decodes hexadecimal of either case; nullopt for odd length or bad digits.
std::optional<bytes> hex_decode(std::string_view text);

} // namespace authsvc::auth
