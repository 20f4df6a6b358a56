#pragma once
// Messages of the OpenID Provider (issue 16) to the session actor.
#include <string>

namespace authsvc {

/// Asks whose token `token` is (an access or a live refresh token), for
/// the revocation endpoint (RFC 7009).
struct token_owner_query {
  std::string token;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_owner_query& x) {
  return f(x.token);
}

/// The session a token belongs to; all empty when it is no live token.
struct token_owner {
  std::string session_id;
  std::string user_id;
  std::string client_id; ///< empty for our own sessions
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_owner& x) {
  return f(x.session_id, x.user_id, x.client_id);
}

} // namespace authsvc
