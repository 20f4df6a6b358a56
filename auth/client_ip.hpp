#pragma once
// Who is the client? The peer address, unless the peer is a proxy we trust,
// in which case the forwarding headers the proxies appended tell us.
//
// Only the `[server] trusted_proxies` CIDR list decides whom we believe. Any
// hop can claim anything, so the walk starts at our side (the right end of
// the header) and stops at the first hop that is not trusted: that hop's
// claim about its own client is exactly what we cannot check, so that hop is
// the client. Headers arriving from an untrusted peer are ignored entirely.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/cidr.hpp"
#include "auth/ip_address.hpp"

namespace authsvc::auth {

/// Which header the trusted proxies maintain. Exactly one is read: reading
/// a header that the proxy passes through untouched would let a client
/// write its own "forwarded for" entry, so there is no automatic fallback
/// from one to the other.
enum class forwarded_header_mode : std::uint8_t {
  /// `X-Forwarded-For` + `X-Forwarded-Proto` (nginx, HAProxy, most LBs).
  x_forwarded_for,
  /// RFC 7239 `Forwarded: for=...;proto=...`.
  forwarded,
};

/// The raw forwarding headers of one request. Repeated headers must be
/// joined with commas first (RFC 9110 §5.3), which every list form permits.
struct forwarding_headers {
  std::optional<std::string_view> x_forwarded_for;
  std::optional<std::string_view> x_forwarded_proto;
  std::optional<std::string_view> forwarded;
};

/// Whom we trust to report the client, from `[server] trusted_proxies`.
struct proxy_trust {
  std::vector<cidr_block> trusted_proxies;
  forwarded_header_mode mode = forwarded_header_mode::x_forwarded_for;
};

/// Resolves the client address of one request.
///
/// - Peer not trusted (or no trusted proxies): the peer; headers ignored.
/// - Peer trusted: the hop entries of the selected header are walked from
///   the right. Each trusted entry is skipped; the first untrusted entry is
///   the client. If every entry is trusted, the left-most entry is the client
///   (an internal request that crossed only our own proxies).
/// - Malformed entry: the walk stops there and the result is the last
///   address it accepted, i.e. the right-most trusted hop seen so far (the
///   peer itself when the right-most entry is malformed). That hop's report
///   of its client is unreadable, so the hop is the furthest point we know.
///   Malformed means: not an IP literal (e.g. `unknown`, `_hidden`, a
///   hostname), a bad port, or for Forwarded an element without exactly one
///   valid `for=`, broken quoting, or an unbracketed IPv6 address.
/// - Empty list elements (`a,,b`) are skipped (RFC 9110 §5.6.1).
///
/// Entry syntax accepted: `X-Forwarded-For` takes `1.2.3.4`, `1.2.3.4:80`,
/// `2001:db8::1`, `[2001:db8::1]` and `[2001:db8::1]:443`; `Forwarded` takes
/// the RFC 7239 node forms `for=1.2.3.4`, `for="1.2.3.4:80"`,
/// `for="[2001:db8::1]:443"` (ports may be obfuscated, `_x`).
///
/// @returns the client address, IPv4-mapped forms unmapped so that the same
///          host always yields the same rate-limit key.
ip_address resolve_client_ip(const ip_address& peer,
                             const forwarding_headers& headers,
                             const proxy_trust& trust);

/// Whether the client reached the first proxy over HTTPS (for HSTS and
/// secure cookies). The connection's own TLS state when the peer is not
/// trusted or the trusted proxies say nothing usable. Otherwise:
/// - `forwarded` mode: the `proto=` of the element that named the client
///   (the right-most element when the walk stopped at the peer);
/// - `x_forwarded_for` mode: a single `X-Forwarded-Proto` value; with one
///   value per `X-Forwarded-For` entry, the value at the client's position;
///   any other count is ambiguous and ignored.
bool client_used_https(const ip_address& peer, bool connection_is_tls,
                       const forwarding_headers& headers,
                       const proxy_trust& trust);

/// The key to rate-limit a client address by: an IPv4 address as itself, an
/// IPv6 address as its /64 (`2001:db8:1:2::/64`), because one subscriber
/// usually holds a whole /64 and could otherwise rotate through 2^64 keys.
std::string rate_limit_key(const ip_address& address);

/// Parses one hop entry (an `X-Forwarded-For` item or a `Forwarded` `for=`
/// value after unquoting) into its address, dropping any port.
/// @param bracketed_v6_only true for RFC 7239, where IPv6 must be in brackets.
std::optional<ip_address> parse_forwarded_node(std::string_view text,
                                               bool bracketed_v6_only);

} // namespace authsvc::auth
