#pragma once
// RFC 4648 §6 base32, the encoding authenticator apps expect for TOTP secrets.
#include <optional>
#include <string>
#include <string_view>

#include "auth/encoding.hpp"

namespace authsvc::auth {

/// Encodes as upper-case base32 without '=' padding (what otpauth URIs use).
std::string base32_encode(const bytes& data);

/// Decodes base32 the way users type it: case-insensitive, ignoring spaces
/// and trailing '=' padding.
/// @returns nullopt for characters outside the alphabet, '=' anywhere but at
///          the end, an impossible length or non-zero trailing bits.
std::optional<bytes> base32_decode(std::string_view text);

} // namespace authsvc::auth
