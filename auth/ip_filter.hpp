#pragma once
// The admin-managed IP allow/deny rules (`/v1/admin/ip-filters`), as an
// immutable value the HTTP front consults on every request.
#include <cstdint>
#include <string_view>
#include <vector>

#include "auth/cidr.hpp"
#include "auth/ip_address.hpp"

namespace authsvc::auth {

/// What the filter says about one client address.
enum class ip_decision : std::uint8_t {
  allow,
  deny,
};

/// Returns `allow` or `deny`.
std::string_view to_string(ip_decision decision) noexcept;

/// An immutable set of allow and deny CIDR rules.
///
/// Precedence, in order:
/// 1. an address matching any deny rule is denied (deny wins over allow);
/// 2. when at least one allow rule exists, an address matching no allow rule
///    is denied (the allow list is exhaustive);
/// 3. otherwise the address is allowed (no rules = allow everyone).
///
/// Matching uses canonical forms, so `::ffff:203.0.113.7` is judged exactly
/// like `203.0.113.7` (see cidr_block).
///
/// Cost: a linear scan over the rules, 16-byte prefix compares with no
/// allocation. A few hundred rules cost well under a microsecond, which is
/// fine per request; a trie would only pay off at many thousands of rules.
/// To change the rules, build a new filter and swap it in (it is a value).
class ip_filter {
public:
  // -- constructors -----------------------------------------------------------

  /// The empty filter: allows every address.
  ip_filter() = default;

  /// Builds a filter from already parsed rules (see parse_cidr_list).
  ip_filter(std::vector<cidr_block> allow, std::vector<cidr_block> deny);

  // -- properties -------------------------------------------------------------

  /// True when there are no rules at all.
  bool empty() const noexcept { return allow_.empty() && deny_.empty(); }

  const std::vector<cidr_block>& allow_rules() const noexcept { return allow_; }

  const std::vector<cidr_block>& deny_rules() const noexcept { return deny_; }

  // -- changes ----------------------------------------------------------------

  /// This filter with one more rule (`action`: allow or deny).
  ip_filter with_rule(const cidr_block& block, ip_decision action) const;

  /// This filter without one rule equal to `block` in the `action` list (a
  /// copy from elsewhere, e.g. configuration, stays).
  ip_filter without_rule(const cidr_block& block, ip_decision action) const;

  // -- decisions --------------------------------------------------------------

  /// Applies the precedence described on the class.
  ip_decision decide(const ip_address& address) const noexcept;

  /// Parses `address_text` first. Text that is not an IP address is denied
  /// when an allow list exists (it cannot prove membership) and allowed
  /// otherwise (it cannot match a deny rule, and with no allow list the
  /// filter's default is to allow).
  ip_decision decide(std::string_view address_text) const;

private:
  // -- member variables -------------------------------------------------------

  std::vector<cidr_block> allow_;
  std::vector<cidr_block> deny_;
};

} // namespace authsvc::auth
