#pragma once
// Who a flow acts for: the client of one request, as audit events, new
// sessions and lockout counters see it. Front ends fill it from their
// request (the HTTP front: requester_of in front/route_helpers); flows never
// see HTTP.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/services.hpp"

namespace authsvc {

struct requester {
  std::string ip;         ///< the client's address (after trusted proxies)
  std::string user_agent; ///< at most 512 characters
  std::string request_id;
  /// Who acts on someone's behalf ("admin:<key id>", "caf:<peer>"), or "".
  std::string actor;
  /// The authenticated user of the request, if any: audit events that name
  /// no user carry this one.
  std::string user_id;
  /// The lockout source: the client's rate-limit key (IPv4, IPv6 /64).
  std::string source;
  /// The bearer token the request carried, if any (a sign-in may
  /// re-authenticate that session, see new_session::reauth_token).
  std::string reauth_token;
  /// Where a flow puts operator notes for the caller's log line (never
  /// secrets); may be empty.
  std::function<void(const std::string& key, const std::string& value)> note;
};

/// Records an audit event for `who`. `metadata` must never hold a secret.
void audit(const services& svc, const requester& who, std::string type,
           bool success, const std::string& user_id = {},
           std::string email = {}, const nlohmann::json& metadata = {});

/// What the session actor needs to open a session for `user` signed in by
/// `amr` on behalf of `who`.
new_session sign_in_request(const requester& who, user_info user,
                            const char* amr);

/// Passes a note to `who.note`, when set.
void note(const requester& who, const std::string& key,
          const std::string& value);

} // namespace authsvc
