#pragma once
// CIDR blocks (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6) and membership.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/ip_address.hpp"

namespace authsvc::auth {

/// A network prefix such as `10.0.0.0/8` or `2001:db8::/32`.
///
/// Membership is decided on canonical 16-byte forms (see ip_address), so:
/// - an IPv4 block also contains the IPv4-mapped forms of its addresses;
/// - `::ffff:10.0.0.0/104` is the same block as `10.0.0.0/8`;
/// - an IPv6 block wide enough to cover ::ffff:0:0/96 (e.g. `::/0`) contains
///   every IPv4 address, while `0.0.0.0/0` contains no native IPv6 address.
class cidr_block {
public:
  // -- constructors -----------------------------------------------------------

  /// The block that holds exactly 0.0.0.0.
  cidr_block() noexcept;

  /// Parses `address/prefix` or a bare address (= /32 or /128). The prefix is
  /// decimal without sign or leading zeros, at most 32 (IPv4) or 128 (IPv6).
  /// Host bits below the prefix (`10.1.2.3/8`) are accepted and cleared, so
  /// that block equals `10.0.0.0/8`; `host_bits_were_set()` lets config
  /// validation warn about what is probably a typo.
  /// @returns nullopt for anything else (whitespace included).
  static std::optional<cidr_block> parse(std::string_view text);

  // -- properties -------------------------------------------------------------

  /// The network address with host bits cleared, in the family it was
  /// written in (an IPv4-mapped block is reported as IPv4).
  ip_address network() const noexcept;

  /// The prefix length in the block's own family (0..32 or 0..128).
  unsigned prefix_length() const noexcept;

  /// Whether the text named bits below the prefix.
  bool host_bits_were_set() const noexcept { return host_bits_set_; }

  /// True when `address` lies inside the block (see class notes for v4/v6).
  bool contains(const ip_address& address) const noexcept;

  /// `network/prefix`, e.g. `10.0.0.0/8`.
  std::string to_string() const;

  friend bool operator==(const cidr_block& a, const cidr_block& b) noexcept {
    return a.network_ == b.network_
           && a.canonical_prefix_ == b.canonical_prefix_ && a.v4_ == b.v4_;
  }

private:
  // -- member variables -------------------------------------------------------

  /// Canonical 16-byte network address, host bits cleared.
  ip_address::v6_bytes network_;

  /// Prefix length over the canonical form (an IPv4 /8 is 104 here).
  std::uint8_t canonical_prefix_;

  /// Whether the block is reported as IPv4.
  bool v4_;

  bool host_bits_set_;
};

/// Free-function spelling of `block.contains(address)`.
inline bool contains(const cidr_block& block, const ip_address& address) {
  return block.contains(address);
}

/// True when any block in `blocks` contains `address` (linear scan).
bool contains_any(const std::vector<cidr_block>& blocks,
                  const ip_address& address) noexcept;

/// Parses every entry of a config list (surrounding spaces trimmed, empty
/// entries skipped, so `"10.0.0.0/8, ::1"` split on commas works).
/// @param invalid_entry receives the first entry that failed to parse.
/// @returns nullopt when any entry is malformed: a half-applied list of
///          trusted proxies or filter rules would be worse than none.
std::optional<std::vector<cidr_block>>
parse_cidr_list(const std::vector<std::string>& entries,
                std::string* invalid_entry = nullptr);

} // namespace authsvc::auth
