#pragma once
// Client authentication at the token and revocation endpoints (RFC 6749
// §2.3.1, OIDC Core §9): client_secret_basic, client_secret_post, or none
// for public clients. Also the hash a client secret is stored as.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/key_ring.hpp"
#include "db/oauth_store.hpp"
#include "front/http_front.hpp"

namespace authsvc::http_routes {

using form_t = std::vector<std::pair<std::string, std::string>>;

/// The authenticated client, or the RFC 6749 §5.2 error why there is none.
struct client_auth_result {
  std::optional<db::oauth_store::client_row> client;
  std::string error; ///< invalid_client or invalid_request
  std::string description;
  bool basic = false; ///< the client tried HTTP Basic
};

/// The stored form of a client secret: HMAC-SHA-256 with the key ring's
/// oauth_clients key, hex. The secret is 256 random bits, so a keyed hash
/// suffices (no password hashing needed), and a stolen database without
/// the master secret tells nothing.
std::string client_secret_hash(const key_ring& keys, const std::string& secret);

/// Authenticates the client of a token or revocation request (`form` is
/// its body) and calls `then` once with the outcome; a DB failure answers
/// the request itself. Unknown, disabled and wrong-secret clients look
/// alike (invalid_client).
void authenticate_client(
    const context_ptr& ctx, const form_t& form,
    const std::function<void(const client_auth_result&)>& then);

} // namespace authsvc::http_routes
