#pragma once
// Compact JWS (RFC 7515) signing and verification for our access tokens, and
// the claim set they carry. Written over OpenSSL 3 EVP because Debian 12
// packages no C++ JWT library that does what we need cleanly (see
// signing_key.hpp). Pure: the current time is always a parameter.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/result.hpp"
#include "auth/signing_key.hpp"

namespace authsvc::auth {

/// Why a token was rejected. Numbers are pinned so they stay stable in logs.
enum class jws_errc : std::uint8_t {
  /// Not three base64url parts, too long, padding, bad base64, bad or
  /// non-object JSON, duplicate member names, a `crit` header, or a missing
  /// or non-numeric time claim.
  malformed = 10,
  /// `alg` is "none", unknown, not in the accepted list, or not the key's.
  unsupported_alg = 20,
  /// No `kid` header, or no key with that id.
  unknown_kid = 30,
  /// The signature does not verify.
  bad_signature = 40,
  /// now >= exp + leeway.
  expired = 50,
  /// now + leeway < nbf, or iat lies in the future by more than the leeway.
  not_yet_valid = 60,
  /// `iss` is missing or not the expected issuer.
  wrong_issuer = 70,
  /// `aud` (string or array) does not contain the expected audience.
  wrong_audience = 80,
};

/// Stable snake_case name ("bad_signature") for logs and error mapping.
std::string_view to_string(jws_errc e);

/// Either a value or a jws_errc (the service's one result template).
template <class T>
using jws_result = basic_result<T, jws_errc>;

/// Longest token verify_jws looks at; longer input is malformed unread.
inline constexpr std::size_t max_jws_size = std::size_t{8} * 1024;

/// Signs `payload` as a compact JWS. The protected header is `header` with
/// `alg` and `kid` set from the key (overriding whatever was there) and
/// `typ: "JWT"` unless given. ES256 signatures are raw R||S (64 bytes).
/// @pre header and payload are JSON objects (else std::invalid_argument) and
///      key.has_private_key() (else std::logic_error).
std::string sign_jws(const nlohmann::json& header,
                     const nlohmann::json& payload, const signing_key& key);

/// Finds the verification key for a `kid`, or nullptr.
using jws_key_lookup = std::function<const signing_key*(std::string_view kid)>;

/// What verify_jws checks besides the signature.
struct jws_verify_options {
  /// Accepted algorithms; the header `alg` must be one of them and match the
  /// key's own algorithm.
  std::vector<jws_alg> algorithms{jws_alg::es256};
  /// Current Unix time in seconds.
  std::int64_t now = 0;
  /// Allowed clock skew in seconds for exp, nbf and iat (clamped to 0..300).
  std::int64_t leeway = 0;
  /// Expected `iss`; always checked (a missing claim, or leaving this empty,
  /// fails with wrong_issuer).
  std::string issuer;
  /// Expected member of `aud`; always checked (a missing claim, or leaving
  /// this empty, fails with wrong_audience).
  std::string audience;
  /// When true, `aud` is not checked here: the caller checks it against
  /// what the verified token speaks for (the session actor: our audience
  /// for our sessions, the client id for an OAuth client's, issue 16).
  bool audience_checked_by_caller = false;
  /// Tokens without `exp` are malformed unless this is false.
  bool require_exp = true;
};

/// Verifies a compact JWS and its registered claims, in this order: size and
/// shape, header, alg, kid, signature, payload JSON, exp, nbf/iat, iss, aud.
/// @returns the payload claims, or the first reason for rejection.
jws_result<nlohmann::json> verify_jws(std::string_view token,
                                      const jws_key_lookup& keys,
                                      const jws_verify_options& options);

/// Same, looking the kid up in `keys` (e.g. the current and previous keys).
jws_result<nlohmann::json> verify_jws(std::string_view token,
                                      const std::vector<signing_key>& keys,
                                      const jws_verify_options& options);

/// Inputs for an access token's claims (see api.md "Token response").
struct access_token_params {
  std::string issuer;
  std::string audience;
  /// User id.
  std::string subject;
  std::string session_id;
  /// Unix seconds.
  std::int64_t issued_at = 0;
  /// Lifetime in seconds; exp = issued_at + ttl.
  std::int64_t ttl = 900;
  /// Authentication methods, e.g. {"webauthn"} or {"magic_link"}.
  std::vector<std::string> amr;
  /// Token id; empty means a fresh random one (128 bits, base64url).
  std::string jti;
  /// When the user last signed in to this session (OIDC's auth_time), unix
  /// seconds; 0 means issued_at.
  std::int64_t auth_time = 0;
};

/// `{"iss","aud","sub","sid","iat","exp","jti","amr":[...],"auth_time"}`.
nlohmann::json make_access_token_claims(const access_token_params& params);

} // namespace authsvc::auth
