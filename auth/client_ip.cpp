#include "auth/client_ip.hpp"
#include "auth/text.hpp"

#include <algorithm>
#include <string>

namespace authsvc::auth {

namespace {

/// One hop as reported by the proxy to its right.
struct hop {
  std::optional<ip_address> address;
  std::optional<std::string> proto;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// RFC 9110 tchar.
bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

/// A decimal port 0..65535, or an RFC 7239 obfuscated port when allowed.
bool valid_port(std::string_view text, bool allow_obfuscated) {
  if (allow_obfuscated && text.size() > 1 && text[0] == '_') {
    for (char c : text.substr(1))
      if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' && c != '-')
        return false;
    return true;
  }
  if (text.empty() || text.size() > 5)
    return false;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c))
      return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

/// Splits on `separator` outside quoted strings. A chunk holding an
/// unterminated quote runs to the end of the input (and fails to parse).
std::vector<std::string_view> split_outside_quotes(std::string_view text,
                                                   char separator) {
  std::vector<std::string_view> result;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\\')
        ++i; // the escaped character cannot close the string
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == separator) {
      result.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  result.push_back(text.substr(start));
  return result;
}

/// Parses an RFC 7239 value: a token or a quoted-string (unescaped).
std::optional<std::string> parse_value(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  if (text.front() != '"') {
    for (char c : text)
      if (!is_tchar(c))
        return std::nullopt;
    return std::string(text);
  }
  std::string out;
  for (std::size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (++i >= text.size())
        return std::nullopt;
      out += text[i];
    } else if (c == '"') {
      // The closing quote must end the value.
      if (i + 1 != text.size())
        return std::nullopt;
      return out;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return std::nullopt;
    } else {
      out += c;
    }
  }
  return std::nullopt; // unterminated
}

/// Parses one Forwarded element. `address` stays empty when the element is
/// malformed or has no usable `for=`.
hop parse_forwarded_element(std::string_view element) {
  hop result;
  bool malformed = false;
  bool seen_for = false;
  bool seen_proto = false;
  for (auto pair : split_outside_quotes(element, ';')) {
    pair = trim_ows(pair);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      malformed = true;
      continue;
    }
    auto name = pair.substr(0, eq);
    bool name_ok = true;
    for (char c : name)
      name_ok = name_ok && is_tchar(c);
    auto value = parse_value(pair.substr(eq + 1));
    if (!name_ok || !value) {
      malformed = true;
      continue;
    }
    // RFC 7239 §4: a parameter must not occur twice in one element; a
    // duplicate `for` would let either copy be "the" client.
    if (iequals(name, "for")) {
      if (seen_for)
        malformed = true;
      seen_for = true;
      result.address = parse_forwarded_node(*value, true);
    } else if (iequals(name, "proto")) {
      if (seen_proto)
        malformed = true;
      seen_proto = true;
      result.proto = *value;
    }
  }
  if (malformed)
    result.address.reset();
  return result;
}

std::vector<hop> parse_hops(const forwarding_headers& headers,
                            forwarded_header_mode mode) {
  std::vector<hop> hops;
  if (mode == forwarded_header_mode::forwarded) {
    if (!headers.forwarded)
      return hops;
    for (auto element : split_outside_quotes(*headers.forwarded, ',')) {
      element = trim_ows(element);
      if (!element.empty())
        hops.push_back(parse_forwarded_element(element));
    }
    return hops;
  }
  if (!headers.x_forwarded_for)
    return hops;
  for (auto entry : split_outside_quotes(*headers.x_forwarded_for, ',')) {
    entry = trim_ows(entry);
    if (!entry.empty())
      hops.push_back(hop{parse_forwarded_node(entry, false), std::nullopt});
  }
  return hops;
}

/// The outcome of the right-to-left walk.
struct walk_result {
  ip_address client;
  /// Index of the hop that named the client; empty when it is the peer.
  std::optional<std::size_t> index;
};

walk_result walk(const ip_address& peer, const std::vector<hop>& hops,
                 const std::vector<cidr_block>& trusted) {
  walk_result result{peer.unmapped(), std::nullopt};
  if (!contains_any(trusted, peer))
    return result;
  for (std::size_t i = hops.size(); i-- > 0;) {
    if (!hops[i].address)
      break; // malformed: keep the last trusted hop
    result.client = hops[i].address->unmapped();
    result.index = i;
    if (!contains_any(trusted, result.client))
      break;
  }
  return result;
}

} // namespace

std::optional<ip_address> parse_forwarded_node(std::string_view text,
                                               bool bracketed_v6_only) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    auto rest = text.substr(close + 1);
    if (!rest.empty()
        && (rest.front() != ':'
            || !valid_port(rest.substr(1), bracketed_v6_only)))
      return std::nullopt;
    auto inside = text.substr(1, close - 1);
    // Brackets are for IPv6 only (RFC 3986 IP-literal).
    if (inside.find(':') == std::string_view::npos)
      return std::nullopt;
    return ip_address::parse(inside);
  }
  auto first_colon = text.find(':');
  if (first_colon == std::string_view::npos)
    return ip_address::parse(text);
  if (text.find(':', first_colon + 1) == std::string_view::npos) {
    // Exactly one colon: IPv4 with a port.
    if (!valid_port(text.substr(first_colon + 1), bracketed_v6_only))
      return std::nullopt;
    auto address = ip_address::parse(text.substr(0, first_colon));
    if (!address || !address->is_v4())
      return std::nullopt;
    return address;
  }
  if (bracketed_v6_only)
    return std::nullopt;
  return ip_address::parse(text);
}

std::string rate_limit_key(const ip_address& address) {
  auto plain = address.unmapped();
  if (plain.is_v4())
    return plain.to_string();
  auto bytes = plain.canonical_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), std::uint8_t{0});
  return ip_address::from_v6(bytes).to_string() + "/64";
}

ip_address resolve_client_ip(const ip_address& peer,
                             const forwarding_headers& headers,
                             const proxy_trust& trust) {
  if (!contains_any(trust.trusted_proxies, peer))
    return peer.unmapped(); // don't even parse what a stranger sent
  return walk(peer, parse_hops(headers, trust.mode), trust.trusted_proxies)
      .client;
}

bool client_used_https(const ip_address& peer, bool connection_is_tls,
                       const forwarding_headers& headers,
                       const proxy_trust& trust) {
  if (!contains_any(trust.trusted_proxies, peer))
    return connection_is_tls;
  auto hops = parse_hops(headers, trust.mode);
  auto found = walk(peer, hops, trust.trusted_proxies);
  std::optional<std::size_t> at = found.index;
  if (!at && !hops.empty())
    at = hops.size() - 1;
  std::optional<std::string_view> proto;
  if (trust.mode == forwarded_header_mode::forwarded) {
    if (at && hops[*at].proto)
      proto = *hops[*at].proto;
  } else if (headers.x_forwarded_proto) {
    std::vector<std::string_view> values;
    for (auto value : split_outside_quotes(*headers.x_forwarded_proto, ',')) {
      value = trim_ows(value);
      if (!value.empty())
        values.push_back(value);
    }
    if (values.size() == 1)
      proto = values.front();
    else if (at && values.size() == hops.size())
      proto = values[*at];
  }
  if (!proto)
    return connection_is_tls;
  return iequals(*proto, "https");
}

} // namespace authsvc::auth
