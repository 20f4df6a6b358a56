#pragma once
// COSE_Key parsing (RFC 9052 §7, RFC 9053, WebAuthn §5.8.5) into OpenSSL
// keys, and signature verification by COSE algorithm identifier.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "auth/encoding.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// COSE algorithm identifiers (IANA "COSE Algorithms") this verifier knows.
namespace cose_alg {
constexpr int es256 = -7;
constexpr int es384 = -35;
constexpr int es512 = -36;
constexpr int eddsa = -8;
constexpr int ps256 = -37;
constexpr int ps384 = -38;
constexpr int ps512 = -39;
constexpr int rs256 = -257;
constexpr int rs384 = -258;
constexpr int rs512 = -259;
/// RSASSA-PKCS1-v1_5 with SHA-1: only for attestation formats (TPM) that
/// still use it, never accepted as a credential algorithm by default.
constexpr int rs1 = -65535;
} // namespace cose_alg

/// COSE key types (RFC 9053 §7).
namespace cose_kty {
constexpr int okp = 1;
constexpr int ec2 = 2;
constexpr int rsa = 3;
} // namespace cose_kty

/// A credential public key decoded from its COSE form.
struct cose_key {
  /// COSE `alg` (label 3).
  int alg = 0;
  /// COSE `kty` (label 1).
  int kty = 0;
  /// COSE `crv` (label -1) for EC2 and OKP keys, 0 for RSA.
  int crv = 0;
  /// EC2 / OKP coordinates as encoded (x only for OKP).
  bytes x, y;
  /// RSA modulus and exponent as encoded.
  bytes n, e;
  /// The exact COSE bytes, kept for storage.
  bytes encoded;
  /// The key as OpenSSL sees it.
  std::shared_ptr<EVP_PKEY> pkey;
};

/// Decodes the COSE key at the start of `[data, data + size)`.
/// @param consumed receives how many bytes the key occupies.
/// @returns the key, or `invalid_credential_public_key` /
///          `unsupported_algorithm`.
result<cose_key> parse_cose_key(const std::uint8_t* data, std::size_t size,
                                std::size_t& consumed);

/// Decodes a stored COSE key that must span the whole buffer.
result<cose_key> parse_cose_key(const bytes& encoded);

/// True for algorithms `verify_signature` can check.
bool is_known_algorithm(int alg);

/// The algorithms accepted for credentials when the RP names none:
/// EdDSA, ES256, ES384, ES512, PS256..512 and RS256..512 (not RS1).
const std::vector<int>& default_credential_algorithms();

/// Checks `signature` over `message` with `key` under COSE algorithm `alg`.
/// ECDSA signatures are DER (as WebAuthn transmits them). The key type must
/// fit the algorithm.
bool verify_signature(int alg, EVP_PKEY* key, const bytes& message,
                      const bytes& signature);

/// The digest that COSE algorithm `alg` signs with, or nullopt for EdDSA and
/// unknown algorithms. TPM attestation hashes attToBeSigned with it.
std::optional<bytes> digest_for_algorithm(int alg, const bytes& data);

} // namespace authsvc::auth::webauthn
