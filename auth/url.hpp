#pragma once
// Absolute http(s) URLs, parsed strictly for two security decisions:
// which `redirect_to` targets we send users to, and which addresses our
// webhook deliveries may connect to (SSRF).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/ip_address.hpp"

namespace authsvc::auth {

/// The parts of an absolute http or https URL.
struct url {
  /// `http` or `https`, lower case.
  std::string scheme;
  /// Lower-cased host name, dotted IPv4, or IPv6 without brackets.
  std::string host;
  /// The explicit port, else 80 or 443 by scheme.
  std::uint16_t port = 0;
  /// Starts with `/`; `/` when the URL had no path. Not decoded.
  std::string path;
  /// After `?`, without it; empty when absent.
  std::string query;
  /// Whether a `?` was present.
  bool has_query = false;
  /// Whether a `#` was present (the fragment itself is dropped).
  bool has_fragment = false;
  /// The host as an address when it is an IP literal.
  std::optional<ip_address> host_address;

  /// `scheme://host[:port]` with the port only when not the default.
  std::string origin() const;
};

/// Parses an absolute `http://` or `https://` URL. Stricter than browsers
/// on purpose; refuses:
/// - other schemes, scheme-relative `//host`, and relative references;
/// - userinfo (`https://app.example.com@evil.com/`);
/// - backslashes anywhere (browsers read `\` as `/` in http URLs);
/// - ASCII control characters, spaces, and non-ASCII octets (IDN hosts must
///   be A-labels);
/// - percent-encoding in the host, empty hosts, hosts that are neither LDH
///   labels nor IP literals, a trailing dot, and legacy IPv4 forms such as
///   `http://2130706433/` or `http://0x7f.1/` (they are not LDH names with
///   a letter in the last label, so they are refused, not resolved);
/// - ports outside 1..65535.
std::optional<url> parse_url(std::string_view text);

/// Decodes application/x-www-form-urlencoded text (percent escapes and '+'
/// for space): query strings, form bodies, and the Basic credentials of
/// RFC 6749 §2.3.1. nullopt for a malformed escape.
std::optional<std::string> form_url_decode(std::string_view s);

/// Whether `target` may be used as a redirect for the allow list
/// `[auth] redirect_allow_list`. A prefix matches when scheme, host and
/// effective port are equal and the prefix path is a prefix of the target
/// path on a `/` boundary: `https://app.example.com/cb` allows `/cb`, `/cb/`,
/// `/cb/x`, `/cb?x`, but not `/cbx`; a prefix path ending in `/` allows
/// everything below it. So `https://app.example.com.evil.com` never matches
/// `https://app.example.com`. Additionally refused: targets with a fragment
/// (we append `#code=...` ourselves) and paths with `.`/`..` segments, also
/// percent-encoded or with a `;` path parameter (`..;x`), which a browser or
/// server would resolve out of the allowed prefix.
/// Prefixes that fail to parse, or carry a query or fragment, match nothing.
bool redirect_allowed(std::string_view target,
                      const std::vector<std::string>& prefixes);

/// Same, with prefixes already parsed (config validation does that once).
bool redirect_allowed(std::string_view target,
                      const std::vector<url>& prefixes);

/// Whether a browser's form POST comes from a page of our own origin
/// (`public_url`'s scheme, host and port), the defence against login CSRF
/// on the magic-link confirmation form. A `Sec-Fetch-Site` header decides
/// when the browser sent one: `same-origin` or `none` (typed or bookmarked)
/// pass, `same-site` and `cross-site` do not. Without it, the `Origin`
/// header must equal our origin; `Origin: null` (sandboxed or opaque
/// contexts), no Origin at all, and any other origin are refused.
bool form_post_same_origin(std::string_view origin,
                           std::string_view sec_fetch_site,
                           std::string_view public_url);

/// What kind of network an address belongs to, for SSRF decisions (the
/// IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890).
enum class address_scope : std::uint8_t {
  public_unicast,
  loopback,        ///< 127.0.0.0/8, ::1
  private_network, ///< 10/8, 172.16/12, 192.168/16 (RFC 1918); the
                   ///< operator's own NAT64 64:ff9b:1::/48 (RFC 8215)
  shared_cgnat,    ///< 100.64.0.0/10 (RFC 6598)
  unique_local,    ///< fc00::/7 (RFC 4193)
  link_local,      ///< 169.254/16 (cloud metadata lives here), fe80::/10
  multicast,       ///< 224/4, ff00::/8
  unspecified,     ///< 0.0.0.0/8, ::
  reserved,        ///< 240/4 incl. broadcast; IPv4-compatible ::a.b.c.d and
                   ///< the rest of ::/8; 100::/64; fec0::/10; everything
                   ///< outside 2000::/3 not named elsewhere
  documentation,   ///< 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32
  special_purpose, ///< 192.0.0.0/24 (IETF protocol assignments),
                   ///< 198.18.0.0/15 (benchmarking), Teredo 2001::/32
};

/// Names the scope (`"link_local"`), for logs.
std::string_view to_string(address_scope scope) noexcept;

/// Classifies an address. IPv4 embedded in IPv6 is judged as that IPv4
/// address for IPv4-mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96` (and the
/// `64:ff9b:1::a.b.c.d` form of the local-use `64:ff9b:1::/48`) and 6to4
/// `2002::/16`, since connecting there reaches (or is routed by) it.
/// Teredo `2001::/32` is special_purpose whatever it embeds: its client
/// address is obfuscated and its server is whatever relay answers.
address_scope classify_address(const ip_address& address) noexcept;

/// Whether an outgoing webhook may not connect to `address`.
/// Always forbidden: link-local, multicast, unspecified, reserved,
/// documentation, special_purpose (never a real receiver).
/// Forbidden unless `allow_private`: loopback, RFC 1918, CGNAT, ULA, the
/// local-use NAT64 prefix.
/// Check every address the host name resolves to, and connect to the one
/// that was checked: resolving again would let DNS rebinding swap it.
bool is_forbidden_target(const ip_address& address,
                         bool allow_private) noexcept;

} // namespace authsvc::auth
