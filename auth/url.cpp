#include "auth/url.hpp"
#include "auth/text.hpp"

namespace authsvc::auth {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_ldh(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || c == '-';
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5)
    return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c))
      return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

/// Validates a lower-cased registered name or dotted IPv4 address.
bool parse_host_name(const std::string& host, url& out) {
  if (host.empty() || host.size() > 253)
    return false;
  std::size_t start = 0;
  bool last_label_numeric = false;
  while (true) {
    auto dot = host.find('.', start);
    auto end = dot == std::string::npos ? host.size() : dot;
    auto label = std::string_view(host).substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-'
        || label.back() == '-')
      return false;
    last_label_numeric = true;
    for (char c : label) {
      if (!is_ldh(c))
        return false;
      last_label_numeric = last_label_numeric && is_digit(c);
    }
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  if (last_label_numeric) {
    // Only a canonical dotted quad; inet_aton-style forms stay refused.
    auto address = ip_address::parse(host);
    if (!address)
      return false;
    out.host_address = address;
  }
  out.host = host;
  return true;
}

/// Whether a path could climb out of a prefix once a browser or server
/// normalises it: dot segments (also percent-encoded) and encoded slashes.
bool path_is_unsafe(std::string_view path) {
  auto lower_path = ascii_lower(path);
  if (lower_path.find("%2f") != std::string::npos
      || lower_path.find("%5c") != std::string::npos)
    return true;
  std::size_t start = 0;
  while (start <= lower_path.size()) {
    auto slash = lower_path.find('/', start);
    auto end = slash == std::string::npos ? lower_path.size() : slash;
    auto segment = lower_path.substr(start, end - start);
    std::string decoded;
    for (std::size_t i = 0; i < segment.size(); ++i) {
      if (segment.compare(i, 3, "%2e") == 0) {
        decoded += '.';
        i += 2;
      } else {
        decoded += segment[i];
      }
    }
    // A path parameter does not hide a dot segment: servers such as Tomcat
    // resolve `/cb/..;x/admin` to `/admin`.
    auto semicolon = decoded.find(';');
    if (semicolon != std::string::npos)
      decoded.resize(semicolon);
    if (decoded == "." || decoded == "..")
      return true;
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  return false;
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0)
    return false;
  return path.size() == prefix.size() || prefix.back() == '/'
         || path[prefix.size()] == '/';
}

address_scope classify_v4(const ip_address::v4_bytes& o) noexcept {
  auto a = o[0];
  auto b = o[1];
  if (a == 0)
    return address_scope::unspecified;
  if (a == 127)
    return address_scope::loopback;
  if (a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168))
    return address_scope::private_network;
  if (a == 100 && (b & 0xc0) == 64)
    return address_scope::shared_cgnat;
  if (a == 169 && b == 254)
    return address_scope::link_local;
  if (a == 192 && b == 0 && o[2] == 0)
    return address_scope::special_purpose; // 192.0.0.0/24
  if (a == 198 && (b & 0xfe) == 18)
    return address_scope::special_purpose; // 198.18.0.0/15
  if ((a == 192 && b == 0 && o[2] == 2) || (a == 198 && b == 51 && o[2] == 100)
      || (a == 203 && b == 0 && o[2] == 113))
    return address_scope::documentation;
  if (a >= 224 && a <= 239)
    return address_scope::multicast;
  if (a >= 240)
    return address_scope::reserved;
  return address_scope::public_unicast;
}

/// Whether bytes [from, to) of `b` are all zero.
bool zero_bytes(const ip_address::v6_bytes& b, int from, int to) noexcept {
  for (int i = from; i < to; ++i)
    if (b[i] != 0)
      return false;
  return true;
}

/// The IPv4 address in the last four bytes.
address_scope classify_last_v4(const ip_address::v6_bytes& b) noexcept {
  return classify_v4({b[12], b[13], b[14], b[15]});
}

} // namespace

std::string url::origin() const {
  std::string out = scheme + "://";
  if (host_address && !host_address->is_v4())
    out += '[' + host + ']';
  else
    out += host;
  bool default_port
      = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port)
    out += ':' + std::to_string(port);
  return out;
}

std::optional<url> parse_url(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\')
      return std::nullopt;
  }
  url out;
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return std::nullopt;
  out.scheme = ascii_lower(text.substr(0, sep));
  if (out.scheme == "http")
    out.port = 80;
  else if (out.scheme == "https")
    out.port = 443;
  else
    return std::nullopt;
  auto rest = text.substr(sep + 3);
  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view{}
                                                 : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return std::nullopt;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    auto inside = authority.substr(1, close - 1);
    auto address = ip_address::parse(inside);
    if (!address || address->is_v4())
      return std::nullopt;
    out.host_address = address;
    out.host = address->to_string();
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return std::nullopt;
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    auto host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (!parse_host_name(ascii_lower(host), out))
      return std::nullopt;
  }
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port)
      return std::nullopt;
    out.port = *port;
  }
  auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    out.has_fragment = true;
    rest = rest.substr(0, hash);
  }
  auto question = rest.find('?');
  if (question != std::string_view::npos) {
    out.has_query = true;
    out.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  out.path = rest.empty() ? "/" : std::string(rest);
  return out;
}

bool redirect_allowed(std::string_view target,
                      const std::vector<url>& prefixes) {
  auto parsed = parse_url(target);
  if (!parsed || parsed->has_fragment || path_is_unsafe(parsed->path))
    return false;
  for (const auto& prefix : prefixes) {
    if (prefix.has_query || prefix.has_fragment)
      continue;
    if (prefix.scheme == parsed->scheme && prefix.host == parsed->host
        && prefix.port == parsed->port
        && path_has_prefix(parsed->path, prefix.path))
      return true;
  }
  return false;
}

bool redirect_allowed(std::string_view target,
                      const std::vector<std::string>& prefixes) {
  std::vector<url> parsed;
  parsed.reserve(prefixes.size());
  for (const auto& prefix : prefixes)
    if (auto p = parse_url(prefix))
      parsed.push_back(std::move(*p));
  return redirect_allowed(target, parsed);
}

bool form_post_same_origin(std::string_view origin,
                           std::string_view sec_fetch_site,
                           std::string_view public_url) {
  if (!sec_fetch_site.empty())
    return sec_fetch_site == "same-origin" || sec_fetch_site == "none";
  auto ours = parse_url(public_url);
  auto theirs = parse_url(origin);
  // An Origin is scheme://host[:port] and nothing else.
  return ours && theirs && theirs->path == "/" && !theirs->has_query
         && !theirs->has_fragment && origin.back() != '/'
         && theirs->origin() == ours->origin();
}

std::string_view to_string(address_scope scope) noexcept {
  switch (scope) {
  case address_scope::public_unicast:
    return "public_unicast";
  case address_scope::loopback:
    return "loopback";
  case address_scope::private_network:
    return "private_network";
  case address_scope::shared_cgnat:
    return "shared_cgnat";
  case address_scope::unique_local:
    return "unique_local";
  case address_scope::link_local:
    return "link_local";
  case address_scope::multicast:
    return "multicast";
  case address_scope::unspecified:
    return "unspecified";
  case address_scope::reserved:
    return "reserved";
  case address_scope::documentation:
    return "documentation";
  case address_scope::special_purpose:
    return "special_purpose";
  }
  return "unknown";
}

address_scope classify_address(const ip_address& address) noexcept {
  if (address.is_v4() || address.is_v4_mapped())
    return classify_v4(address.v4_octets());
  const auto& b = address.canonical_bytes();
  // ::/8 (RFC 4291 reserved): ::, ::1, the mapped form above, and otherwise
  // nothing a receiver lives at: the deprecated IPv4-compatible ::a.b.c.d,
  // the IPv4-translated ::ffff:0:a.b.c.d, and unassigned space.
  if (b[0] == 0 && b[1] == 0) {
    if (zero_bytes(b, 0, 15) && b[15] <= 1)
      return b[15] == 0 ? address_scope::unspecified : address_scope::loopback;
    return address_scope::reserved;
  }
  // NAT64 (RFC 6052, RFC 8215): a translator connects to the embedded IPv4.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
    // The well-known prefix 64:ff9b::/96.
    if (zero_bytes(b, 4, 12))
      return classify_last_v4(b);
    // The local-use prefix 64:ff9b:1::/48 is the operator's own translator:
    // judge the /96 form by its IPv4 address; for the other prefix lengths
    // we cannot know where the address sits, so treat it as private.
    if (b[4] == 0x00 && b[5] == 0x01)
      return zero_bytes(b, 6, 12) ? classify_last_v4(b)
                                  : address_scope::private_network;
    return address_scope::reserved; // rest of 64:ff9b::/32, unassigned
  }
  // Global unicast is 2000::/3; the rest of the space is not routed.
  if ((b[0] & 0xe0) == 0x20) {
    // Teredo 2001::/32: the client's IPv4 address is obfuscated in the low
    // bits and the relay is whoever announces the prefix; never a receiver.
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00)
      return address_scope::special_purpose;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
      return address_scope::documentation; // 2001:db8::/32
    // 6to4 2002:AABB:CCDD::/48 carries the IPv4 address of its relay.
    if (b[0] == 0x20 && b[1] == 0x02)
      return classify_v4({b[2], b[3], b[4], b[5]});
    return address_scope::public_unicast;
  }
  if (b[0] == 0xff)
    return address_scope::multicast;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return address_scope::link_local;
  if ((b[0] & 0xfe) == 0xfc)
    return address_scope::unique_local;
  // 100::/64 discard-only, deprecated site-local fec0::/10, and every other
  // prefix outside 2000::/3 (unassigned, reserved by the IETF).
  return address_scope::reserved;
}

bool is_forbidden_target(const ip_address& address,
                         bool allow_private) noexcept {
  switch (classify_address(address)) {
  case address_scope::public_unicast:
    return false;
  case address_scope::loopback:
  case address_scope::private_network:
  case address_scope::shared_cgnat:
  case address_scope::unique_local:
    return !allow_private;
  case address_scope::link_local:
  case address_scope::multicast:
  case address_scope::unspecified:
  case address_scope::reserved:
  case address_scope::documentation:
  case address_scope::special_purpose:
    return true;
  }
  return true;
}

std::optional<std::string> form_url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9')
          return h - '0';
        if (h >= 'a' && h <= 'f')
          return h - 'a' + 10;
        if (h >= 'A' && h <= 'F')
          return h - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace authsvc::auth
