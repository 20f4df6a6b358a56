#include "auth/cidr.hpp"
#include "auth/text.hpp"

#include <algorithm>

namespace authsvc::auth {

namespace {

/// Offset of the IPv4 part in the canonical (mapped) form, in bits.
constexpr unsigned mapped_offset_bits = 96;

/// Parses a decimal prefix length without sign or leading zeros.
std::optional<unsigned> parse_prefix(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0'))
    return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max)
    return std::nullopt;
  return value;
}

/// Whether the first `bits` bits of `a` and `b` agree.
bool same_prefix(const ip_address::v6_bytes& a, const ip_address::v6_bytes& b,
                 unsigned bits) noexcept {
  unsigned whole = bits / 8;
  for (unsigned i = 0; i < whole; ++i)
    if (a[i] != b[i])
      return false;
  unsigned rest = bits % 8;
  if (rest == 0)
    return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

} // namespace

cidr_block::cidr_block() noexcept
    : network_(ip_address().canonical_bytes()), canonical_prefix_(128),
      v4_(true), host_bits_set_(false) {
  // nop
}

std::optional<cidr_block> cidr_block::parse(std::string_view text) {
  auto slash = text.find('/');
  auto address = ip_address::parse(text.substr(0, slash));
  if (!address)
    return std::nullopt;
  unsigned max = address->is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    auto parsed = parse_prefix(text.substr(slash + 1), max);
    if (!parsed)
      return std::nullopt;
    prefix = *parsed;
  }
  cidr_block result;
  unsigned canonical = address->is_v4() ? prefix + mapped_offset_bits : prefix;
  // An IPv4-mapped block at least as long as the mapping prefix is really an
  // IPv4 block; report it that way so logs and admin listings read naturally.
  result.v4_ = address->is_v4()
               || (address->is_v4_mapped() && prefix >= mapped_offset_bits);
  result.canonical_prefix_ = static_cast<std::uint8_t>(canonical);
  const auto& in = address->canonical_bytes();
  for (unsigned i = 0; i < 16; ++i) {
    // Bits of byte i that belong to the prefix: 8, then a partial byte, then 0.
    unsigned keep = canonical > i * 8 ? std::min(canonical - i * 8, 8u) : 0;
    auto mask = static_cast<std::uint8_t>(0xff00u >> keep);
    result.network_[i] = static_cast<std::uint8_t>(in[i] & mask);
  }
  result.host_bits_set_ = result.network_ != in;
  return result;
}

ip_address cidr_block::network() const noexcept {
  auto address = ip_address::from_v6(network_);
  return v4_ ? address.unmapped() : address;
}

unsigned cidr_block::prefix_length() const noexcept {
  return v4_ ? canonical_prefix_ - mapped_offset_bits : canonical_prefix_;
}

bool cidr_block::contains(const ip_address& address) const noexcept {
  return same_prefix(network_, address.canonical_bytes(), canonical_prefix_);
}

std::string cidr_block::to_string() const {
  return network().to_string() + '/' + std::to_string(prefix_length());
}

bool contains_any(const std::vector<cidr_block>& blocks,
                  const ip_address& address) noexcept {
  for (const auto& block : blocks)
    if (block.contains(address))
      return true;
  return false;
}

std::optional<std::vector<cidr_block>>
parse_cidr_list(const std::vector<std::string>& entries,
                std::string* invalid_entry) {
  std::vector<cidr_block> result;
  result.reserve(entries.size());
  for (const auto& entry : entries) {
    auto text = trim_ows(entry);
    if (text.empty())
      continue;
    auto block = cidr_block::parse(text);
    if (!block) {
      if (invalid_entry != nullptr)
        *invalid_entry = entry;
      return std::nullopt;
    }
    result.push_back(*block);
  }
  return result;
}

} // namespace authsvc::auth
