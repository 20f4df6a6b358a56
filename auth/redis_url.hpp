#pragma once
// `rate_limit.redis_url`: where the shared per-IP limits live (issue 14).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc::auth {

struct redis_endpoint {
  std::string host;
  std::uint16_t port = 6379;
  /// SELECT this database after connecting (0: Redis's default).
  int db = 0;
  /// AUTH with these when the password is set (a username needs Redis 6
  /// ACLs; empty: the `default` user).
  std::string username;
  std::string password;
};

/// Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (an IPv6 HOST in
/// brackets). Plain TCP only: `rediss://` (TLS) and unix sockets are
/// refused with a reason, as is anything else unexpected; no percent
/// escapes are decoded.
/// @param problem receives the reason when the URL is refused
std::optional<redis_endpoint> parse_redis_url(std::string_view url,
                                              std::string* problem);

} // namespace authsvc::auth
