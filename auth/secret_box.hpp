#pragma once
// Authenticated encryption for secrets at rest (signing keys, TOTP secrets):
// AES-256-GCM over OpenSSL 3 EVP, with per-purpose keys derived by HKDF.
//
// Sealed layout: version (1 byte, 0x01) || nonce (12 random bytes)
//                || ciphertext (same length as the plaintext) || tag (16).
// The version byte is authenticated too (it is part of the GCM AAD).
#include <cstdint>
#include <optional>
#include <string_view>

#include "auth/encoding.hpp"

namespace authsvc::auth::secret_box {

/// AES-256 key length.
inline constexpr std::size_t key_size = 32;
/// Version byte written in front of every sealed box.
inline constexpr std::uint8_t version = 0x01;
inline constexpr std::size_t nonce_size = 12;
inline constexpr std::size_t tag_size = 16;
/// Bytes a sealed box adds to its plaintext.
inline constexpr std::size_t overhead = 1 + nonce_size + tag_size;

/// Encrypts and authenticates `plaintext`, binding it to `aad` (for example
/// "totp:<user id>", so a box cannot be moved to another row).
/// @pre key.size() == key_size; otherwise throws std::invalid_argument.
bytes seal(const bytes& key, const bytes& plaintext, std::string_view aad = {});

/// Decrypts a box made by seal with the same key and aad.
/// @returns nullopt if the key size, version, length, aad, key or any bit of
///          the box is wrong.
std::optional<bytes> open(const bytes& key, const bytes& sealed,
                          std::string_view aad = {});

/// Derives a key_size key for one purpose from the operator's master key with
/// HKDF-SHA256 (RFC 5869). Different `purpose` labels ("signing-keys",
/// "totp-secrets") give independent keys, so one leaked derived key does not
/// open the other kind of secret.
/// @pre !master_key.empty(); otherwise throws std::invalid_argument.
bytes derive_key(std::string_view master_key, std::string_view purpose);

} // namespace authsvc::auth::secret_box
