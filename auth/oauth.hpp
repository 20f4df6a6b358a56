#pragma once
// OAuth 2.0 / OpenID Connect protocol pieces of the provider (issue 16),
// free of actors and I/O: scopes, PKCE (RFC 7636, S256 only), redirect
// URIs (exact match, RFC 6749 §3.1.2), the authorization request's checks
// (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and where their errors go
// (§4.1.2.1), client credentials from an Authorization header (§2.3.1),
// at_hash and the ID token's claims (OIDC Core §2, §3.1.3.6).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace authsvc::auth::oauth {

/// The scopes the provider knows (discovery's scopes_supported).
const std::vector<std::string>& supported_scopes();

/// The claims an ID token or userinfo answer may carry (claims_supported).
const std::vector<std::string>& supported_claims();

/// A scope parameter split on spaces (RFC 6749 §3.3), sorted and without
/// duplicates; nullopt when a token has characters outside %x21 / %x23-5B /
/// %x5D-7E or the parameter is longer than 1000 characters.
std::optional<std::set<std::string>> parse_scope(std::string_view text);

/// Scopes joined by single spaces, in set order.
std::string join_scope(const std::set<std::string>& scopes);

/// Whether `verifier` is a valid RFC 7636 §4.1 code_verifier (43-128
/// characters of [A-Za-z0-9-._~]).
bool valid_code_verifier(std::string_view verifier);

/// Whether `challenge` looks like an S256 code_challenge (43 base64url
/// characters, the encoding of 32 bytes).
bool valid_s256_challenge(std::string_view challenge);

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in
/// constant time.
bool pkce_s256_matches(std::string_view verifier, std::string_view challenge);

/// OIDC Core §3.1.3.6 at_hash for an RS256 or ES256 token: base64url of the
/// left half of SHA-256 of the access token's ASCII text.
std::string at_hash(std::string_view access_token);

/// Whether `uri` may be registered as a redirect URI: an absolute http(s)
/// URL without fragment (auth::parse_url's rules); plain http only to a
/// loopback host (RFC 8252 §7.3, and local development).
bool valid_redirect_uri(std::string_view uri);

/// Exact, case-sensitive string match against the registered URIs (RFC
/// 6749 §3.1.2.3 with OAuth 2.1's exact matching; no prefix or wildcard).
bool redirect_registered(std::string_view uri,
                         const std::vector<std::string>& registered);

/// `uri` with `params` appended to its query (`?` or `&`), each name and
/// value percent-encoded.
std::string
with_query(std::string_view uri,
           const std::vector<std::pair<std::string, std::string>>& params);

/// Client credentials from `Authorization: Basic ...` (RFC 6749 §2.3.1:
/// id and secret are form-urlencoded before base64). nullopt when the
/// header is not Basic or is malformed.
std::optional<std::pair<std::string, std::string>>
parse_basic_credentials(std::string_view authorization);

/// A registered client as the checks of an authorization request see it.
struct client_view {
  std::string id;
  bool is_public = false;
  bool disabled = false;
  std::vector<std::string> redirect_uris;
};

/// The checked parameters of an authorization request.
struct authorize_params {
  std::string client_id;
  std::string redirect_uri;
  std::set<std::string> scopes;
  std::string state;
  std::string nonce;
  std::string code_challenge; ///< empty when the client sent none
  std::string prompt;         ///< "", "none", "login" or "consent"
  std::optional<std::int64_t> max_age;
  std::string login_hint;
};

/// Why an authorization request is refused, and where the answer goes.
struct authorize_error {
  /// The RFC 6749 / OIDC error code, e.g. invalid_request.
  std::string error;
  std::string description;
  /// True when client_id and redirect_uri were valid, so the error goes to
  /// the client's redirect URI (§4.1.2.1); false: show an error page and
  /// never redirect.
  bool redirect = false;
};

/// The raw query of an authorization request, first value of each name,
/// and the names that came more than once.
struct raw_query {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::optional<std::string> get(std::string_view name) const;
  std::set<std::string> repeated() const;
};

/// Step one: the client and redirect URI, checked against `client` (nullopt
/// = no such client). An error here is never redirected.
std::optional<authorize_error>
check_client_and_redirect(const raw_query& q,
                          const std::optional<client_view>& client);

/// Step two, after step one passed: every other parameter. Errors here are
/// redirected (redirect = true) to the checked redirect URI.
std::variant<authorize_params, authorize_error>
check_authorize_request(const raw_query& q, const client_view& client);

/// Inputs of an ID token (OIDC Core §2).
struct id_token_input {
  std::string issuer;
  std::string subject;
  std::string client_id;
  std::int64_t issued_at = 0;
  std::int64_t ttl = 0;
  std::int64_t auth_time = 0;
  std::string nonce; ///< empty: no nonce claim
  std::vector<std::string> amr;
  std::string session_id;   ///< the sid claim (front-channel logout's id)
  std::string access_token; ///< for at_hash; empty: no at_hash
  std::set<std::string> scopes;
  std::string email;
  bool email_verified = false;
  std::string name; ///< empty: no name claim
};

/// The claims of an ID token: iss, sub, aud, exp, iat, auth_time, nonce,
/// amr, sid, at_hash, azp, and email/email_verified (scope email) and name
/// (scope profile).
nlohmann::json id_token_claims(const id_token_input& in);

/// The userinfo answer (OIDC Core §5.3.2): sub, and by scope email,
/// email_verified and name.
nlohmann::json userinfo_claims(const std::string& subject,
                               const std::set<std::string>& scopes,
                               const std::string& email, bool email_verified,
                               const std::string& name);

} // namespace authsvc::auth::oauth
