#include "auth/redis_url.hpp"

#include <charconv>

namespace authsvc::auth {

namespace {

std::optional<redis_endpoint> refuse(std::string* problem, std::string why) {
  if (problem)
    *problem = std::move(why);
  return std::nullopt;
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty())
    return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

} // namespace

std::optional<redis_endpoint> parse_redis_url(std::string_view url,
                                              std::string* problem) {
  constexpr std::string_view scheme = "redis://";
  if (url.rfind("rediss://", 0) == 0)
    return refuse(problem, "TLS (rediss://) is not supported; use redis:// "
                           "on a trusted network or a local TLS tunnel");
  if (url.rfind(scheme, 0) != 0)
    return refuse(problem, "expected redis://HOST[:PORT][/DB]");
  auto rest = url.substr(scheme.size());
  if (rest.find_first_of("?#\r\n\t ") != std::string_view::npos)
    return refuse(problem, "query strings, fragments and spaces are not "
                           "supported");
  redis_endpoint ep;
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, ep.db) || ep.db < 0 || ep.db > 65535))
      return refuse(problem, "the database after '/' must be a number");
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return refuse(problem, "credentials must be [USER]:PASSWORD@");
    ep.username = std::string(userinfo.substr(0, colon));
    ep.password = std::string(userinfo.substr(colon + 1));
    if (ep.password.empty())
      return refuse(problem, "empty password");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return refuse(problem, "unclosed '[' in the host");
    ep.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return refuse(problem, "unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
  }
  if (ep.host.empty())
    return refuse(problem, "no host");
  if (port.data() != nullptr) {
    unsigned value = 0;
    if (!parse_int(port, value) || value < 1 || value > 65535)
      return refuse(problem, "the port must be 1-65535");
    ep.port = static_cast<std::uint16_t>(value);
  }
  return ep;
}

} // namespace authsvc::auth
