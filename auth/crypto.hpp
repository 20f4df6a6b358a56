#pragma once
// Hashing, MACs, randomness and constant-time comparison over OpenSSL 3.
// The one place outside auth/jws and auth/webauthn that touches libcrypto.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/encoding.hpp"

namespace authsvc::auth {

/// SHA-256 of the input.
bytes sha256(std::string_view data);
bytes sha256(const bytes& data);

/// HMAC-SHA256(key, data).
bytes hmac_sha256(std::string_view key, std::string_view data);

/// HMAC-SHA1(key, data) (RFC 4226/6238 need it).
bytes hmac_sha1(const bytes& key, const bytes& data);

/// Fills `n` bytes from the OS CSPRNG (RAND_bytes). Aborts the process if the
/// generator fails: continuing without randomness would mint guessable secrets.
bytes random_bytes(std::size_t n);

/// `n` random bytes rendered as base64url (for tokens and ids).
std::string random_token(std::size_t n);

/// A uniformly random integer in [0, bound), free of modulo bias.
std::uint64_t random_below(std::uint64_t bound);

/// Compares in time that depends only on the lengths, never on the contents.
bool constant_time_equal(std::string_view a, std::string_view b);
bool constant_time_equal(const bytes& a, const bytes& b);

/// Converts a JOSE-style ECDSA signature (r || s, halves of equal length,
/// at most P-521's 132 bytes) to the DER ECDSA-Sig-Value OpenSSL verifies.
/// @returns nullopt for an odd, empty or oversized input.
std::optional<bytes> ecdsa_raw_to_der(const bytes& raw);

/// Hex SHA-256 of a high-entropy secret: the form tokens are stored in.
std::string token_hash(std::string_view token);

} // namespace authsvc::auth
