#include "auth/ip_filter.hpp"

#include <algorithm>
#include <utility>

namespace authsvc::auth {

std::string_view to_string(ip_decision decision) noexcept {
  return decision == ip_decision::allow ? "allow" : "deny";
}

ip_filter::ip_filter(std::vector<cidr_block> allow,
                     std::vector<cidr_block> deny)
    : allow_(std::move(allow)), deny_(std::move(deny)) {
  // nop
}

ip_filter ip_filter::with_rule(const cidr_block& block,
                               ip_decision action) const {
  auto out = *this;
  (action == ip_decision::allow ? out.allow_ : out.deny_).push_back(block);
  return out;
}

ip_filter ip_filter::without_rule(const cidr_block& block,
                                  ip_decision action) const {
  auto out = *this;
  auto& list = action == ip_decision::allow ? out.allow_ : out.deny_;
  if (auto it = std::find(list.begin(), list.end(), block); it != list.end())
    list.erase(it);
  return out;
}

ip_decision ip_filter::decide(const ip_address& address) const noexcept {
  if (contains_any(deny_, address))
    return ip_decision::deny;
  if (!allow_.empty() && !contains_any(allow_, address))
    return ip_decision::deny;
  return ip_decision::allow;
}

ip_decision ip_filter::decide(std::string_view address_text) const {
  if (auto address = ip_address::parse(address_text))
    return decide(*address);
  return allow_.empty() ? ip_decision::allow : ip_decision::deny;
}

} // namespace authsvc::auth
