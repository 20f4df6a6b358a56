#pragma once
// Messages of the browser session (issue 16): a session of the sessions
// table that a browser holds through the `__Host-pa_session` cookie
// instead of a refresh token. The session actor owns it like every other
// session (listing, revocation, idle timeout, sessions per user); these
// messages bind a cookie secret to a session and resolve a cookie.
#include <cstdint>
#include <string>

#include "actors/messages.hpp"

namespace authsvc {

/// Makes session `session_id` (just opened by a hosted-page sign-in) a
/// browser session whose cookie secret hashes to `secret_hash`.
struct browser_bind {
  std::string session_id;
  std::string secret_hash; ///< auth::token_hash of the cookie secret
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, browser_bind& x) {
  return f(x.session_id, x.secret_hash);
}

/// Presents a browser cookie. The session actor checks that the session is
/// live (not revoked, not idle, before its absolute expiry) and that the
/// secret matches its stored hash in constant time; a success counts as
/// activity (idle timeout, sliding expiry).
struct browser_lookup {
  std::string session_id;
  std::string secret;
  /// Also mint an access token of the session (POST /v1/browser/token).
  bool mint_access_token = false;
  std::string ip;
  std::string user_agent;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, browser_lookup& x) {
  return f(x.session_id, x.secret, x.mint_access_token, x.ip, x.user_agent);
}

/// A browser_bind's or browser_lookup's outcome. `error` is empty on
/// success, else "unauthorized" (no such live browser session; the answer
/// is the same for every reason) or "service_unavailable".
struct browser_result {
  std::string error;
  /// The session as an access token's check sees it: user_id, session_id,
  /// amr, auth_time, session_created_at, session_expires_at (sliding),
  /// user.
  auth_context auth;
  /// The session's absolute expiry: what the cookie's Max-Age follows.
  std::int64_t absolute_expires_at = 0;
  /// Set when asked for (mint_access_token).
  std::string access_token;
  std::int64_t expires_in = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, browser_result& x) {
  return f(x.error, x.auth, x.absolute_expires_at, x.access_token,
           x.expires_in);
}

} // namespace authsvc
