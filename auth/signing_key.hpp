#pragma once
// Asymmetric keys for signing access tokens (JWS), held as OpenSSL 3
// EVP_PKEY. Debian 12 packages no C++ JWT/JOSE library that covers ES256 with
// raw R||S signatures, EdDSA and RFC 7638 thumbprints cleanly, so keys and JWS
// are written directly over OpenSSL's EVP APIs (no hand-written crypto).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/encoding.hpp"

struct evp_pkey_st; // OpenSSL's EVP_PKEY, kept out of this header.

namespace authsvc::auth {

/// The JWS algorithms we sign and accept (RFC 7518 §3, RFC 8037).
enum class jws_alg : std::uint8_t {
  /// ECDSA on P-256 with SHA-256; the default for access tokens.
  es256 = 1,
  /// RSASSA-PKCS1-v1_5 with SHA-256, keys of at least 2048 bits.
  rs256 = 2,
  /// Ed25519.
  eddsa = 3,
};

/// "ES256", "RS256" or "EdDSA", the JOSE `alg` names.
std::string_view to_string(jws_alg alg);

/// Parses a JOSE `alg` name (exact, case-sensitive). "none" and every name
/// we do not implement give nullopt.
std::optional<jws_alg> parse_jws_alg(std::string_view name);

/// RFC 7638 JWK thumbprint: base64url SHA-256 of the required members in
/// lexicographic order without whitespace.
/// @returns nullopt if `jwk` lacks a required member or has an unknown `kty`.
std::optional<std::string> jwk_thumbprint(const nlohmann::json& jwk);

/// A signing key pair (or, loaded from a JWK, a public key only). Move-only;
/// frees the EVP_PKEY on destruction.
class signing_key {
public:
  // -- constructors, destructors, and assignment operators -------------------

  signing_key(signing_key&&) noexcept;
  signing_key& operator=(signing_key&&) noexcept;
  signing_key(const signing_key&) = delete;
  signing_key& operator=(const signing_key&) = delete;
  ~signing_key();

  /// Generates a fresh key: P-256 for es256, Ed25519 for eddsa, RSA of
  /// `rsa_bits` (2048, 3072 or 4096) for rs256.
  /// Throws std::invalid_argument for other RSA sizes and std::runtime_error
  /// if OpenSSL fails (both are startup-time or admin-time errors).
  static signing_key generate(jws_alg alg, int rsa_bits = 2048);

  /// Loads an unencrypted PKCS#8 PrivateKeyInfo (DER). The algorithm follows
  /// from the key type.
  /// @returns nullopt for malformed input, trailing bytes, or a key type or
  ///          size we do not sign with (other curves, RSA < 2048).
  static std::optional<signing_key> from_pkcs8_der(const bytes& der);

  /// Loads an unencrypted PKCS#8 "-----BEGIN PRIVATE KEY-----" PEM block.
  static std::optional<signing_key> from_pkcs8_pem(std::string_view pem);

  /// Loads a public JWK (EC P-256, RSA, OKP Ed25519), e.g. from a JWKS, for
  /// verification only. `kid` is taken from the JWK if present, else computed
  /// as the thumbprint. A JWK `alg` that contradicts the key type, or a
  /// point off the curve, gives nullopt.
  static std::optional<signing_key> from_public_jwk(const nlohmann::json& jwk);

  // -- properties -------------------------------------------------------------

  /// The one algorithm this key is used with.
  jws_alg alg() const noexcept { return alg_; }

  /// Key id: the RFC 7638 thumbprint of the public JWK.
  const std::string& kid() const noexcept { return kid_; }

  /// False for keys loaded from a public JWK, which can only verify.
  bool has_private_key() const noexcept { return has_private_; }

  /// The underlying EVP_PKEY (still owned by this object).
  evp_pkey_st* native_handle() const noexcept { return key_.get(); }

  // -- serialization ----------------------------------------------------------

  /// PKCS#8 PrivateKeyInfo in DER. Seal it with secret_box before storing.
  /// Throws std::logic_error for a public-only key.
  bytes to_pkcs8_der() const;

  /// PKCS#8 PrivateKeyInfo as PEM ("-----BEGIN PRIVATE KEY-----").
  /// Throws std::logic_error for a public-only key.
  std::string to_pkcs8_pem() const;

  /// The public JWK: `kty`, `crv`, `x`, `y` (EC) / `n`, `e` (RSA) / `crv`,
  /// `x` (OKP), plus `kid`, `alg` and `use: "sig"`.
  nlohmann::json public_jwk() const;

private:
  struct pkey_deleter {
    void operator()(evp_pkey_st* p) const noexcept;
  };
  using pkey_ptr = std::unique_ptr<evp_pkey_st, pkey_deleter>;

  signing_key(pkey_ptr key, jws_alg alg, bool has_private, std::string kid);

  /// Wraps a decoded key after checking its type; computes the kid.
  static std::optional<signing_key> adopt(pkey_ptr key, bool has_private,
                                          std::string kid = {});

  // -- member variables -------------------------------------------------------

  pkey_ptr key_;
  jws_alg alg_;
  bool has_private_;
  std::string kid_;
};

/// `{"keys": [public_jwk()...]}` for GET /.well-known/jwks.json.
nlohmann::json make_jwks(const std::vector<const signing_key*>& keys);

} // namespace authsvc::auth
