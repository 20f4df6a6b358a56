#pragma once
// IPv4 and IPv6 addresses as values, parsed from and printed to text.
//
// Every address also has a canonical 16-byte form in which an IPv4 address
// a.b.c.d is the IPv4-mapped IPv6 address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
// Matching (CIDR, filters, trusted proxies) compares canonical forms, so a
// dual-stack socket that reports ::ffff:10.0.0.1 matches a rule for 10.0.0.0/8.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc::auth {

/// An IPv4 or IPv6 address. Cheap to copy (17 bytes).
class ip_address {
public:
  // -- member types -----------------------------------------------------------

  /// The 16 bytes of an IPv6 address (or the mapped form of an IPv4 one).
  using v6_bytes = std::array<std::uint8_t, 16>;

  /// The 4 bytes of an IPv4 address, network order.
  using v4_bytes = std::array<std::uint8_t, 4>;

  // -- constructors -----------------------------------------------------------

  /// The IPv4 unspecified address 0.0.0.0.
  ip_address() noexcept;

  /// Builds an IPv4 address from its four octets.
  static ip_address from_v4(const v4_bytes& octets) noexcept;

  /// Builds an IPv6 address from its sixteen bytes, kept as given (a mapped
  /// address stays IPv6; see `unmapped`).
  static ip_address from_v6(const v6_bytes& bytes) noexcept;

  /// Parses dotted-quad IPv4 (`192.0.2.1`) or any RFC 4291 IPv6 text form
  /// (`2001:db8::1`, `::ffff:192.0.2.1`) via inet_pton. Rejects surrounding
  /// whitespace, brackets, ports, zone ids (`fe80::1%eth0`) and the legacy
  /// IPv4 forms inet_aton would take (`10.1`, `0x0a.0.0.1`, `010.0.0.1`),
  /// because those are how SSRF filters get bypassed.
  /// @returns nullopt for anything else.
  static std::optional<ip_address> parse(std::string_view text);

  // -- properties -------------------------------------------------------------

  /// True for an IPv4 address (not for an IPv4-mapped IPv6 one).
  bool is_v4() const noexcept { return v4_; }

  /// True for an IPv6 address of the form ::ffff:a.b.c.d.
  bool is_v4_mapped() const noexcept;

  /// The IPv4 address for an IPv4-mapped IPv6 address, else a copy of this.
  ip_address unmapped() const noexcept;

  /// The canonical 16-byte form: IPv4 addresses as ::ffff:a.b.c.d.
  const v6_bytes& canonical_bytes() const noexcept { return bytes_; }

  /// The four octets of an IPv4 address (or of the mapped part of an
  /// IPv4-mapped IPv6 address).
  /// @pre `is_v4() || is_v4_mapped()`
  v4_bytes v4_octets() const noexcept;

  /// Canonical text: dotted quad or RFC 5952 compressed IPv6 (inet_ntop).
  std::string to_string() const;

  // -- comparison -------------------------------------------------------------

  /// Equal when family and bytes are equal: 1.2.3.4 != ::ffff:1.2.3.4 here;
  /// compare `unmapped()` forms to treat them as the same host.
  friend bool operator==(const ip_address& a, const ip_address& b) noexcept {
    return a.v4_ == b.v4_ && a.bytes_ == b.bytes_;
  }

  friend bool operator!=(const ip_address& a, const ip_address& b) noexcept {
    return !(a == b);
  }

private:
  // -- member variables -------------------------------------------------------

  /// Always the canonical form, also for IPv4.
  v6_bytes bytes_;

  /// Whether this address was an IPv4 address.
  bool v4_;
};

} // namespace authsvc::auth
