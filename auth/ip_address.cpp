#include "auth/ip_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace authsvc::auth {

namespace {

/// The first 96 bits of every IPv4-mapped IPv6 address.
constexpr std::array<std::uint8_t, 12> mapped_prefix{0, 0, 0, 0, 0,    0,
                                                     0, 0, 0, 0, 0xff, 0xff};

} // namespace

ip_address::ip_address() noexcept : bytes_{}, v4_(true) {
  bytes_[10] = 0xff;
  bytes_[11] = 0xff;
}

ip_address ip_address::from_v4(const v4_bytes& octets) noexcept {
  ip_address result;
  std::copy(octets.begin(), octets.end(), result.bytes_.begin() + 12);
  return result;
}

ip_address ip_address::from_v6(const v6_bytes& bytes) noexcept {
  ip_address result;
  result.bytes_ = bytes;
  result.v4_ = false;
  return result;
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest valid text is
  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 chars).
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() > INET6_ADDRSTRLEN)
    return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  // A NUL inside the view would make inet_pton see a shorter, valid prefix.
  if (std::memchr(text.data(), '\0', text.size()) != nullptr)
    return std::nullopt;
  if (text.find(':') == std::string_view::npos) {
    // glibc's inet_pton(AF_INET) takes only four decimal parts without
    // leading zeros, unlike inet_aton.
    v4_bytes octets;
    if (inet_pton(AF_INET, buffer, octets.data()) != 1)
      return std::nullopt;
    return from_v4(octets);
  }
  v6_bytes bytes;
  if (inet_pton(AF_INET6, buffer, bytes.data()) != 1)
    return std::nullopt;
  return from_v6(bytes);
}

bool ip_address::is_v4_mapped() const noexcept {
  return !v4_
         && std::equal(mapped_prefix.begin(), mapped_prefix.end(),
                       bytes_.begin());
}

ip_address ip_address::unmapped() const noexcept {
  if (!is_v4_mapped())
    return *this;
  ip_address result = *this;
  result.v4_ = true;
  return result;
}

ip_address::v4_bytes ip_address::v4_octets() const noexcept {
  return {bytes_[12], bytes_[13], bytes_[14], bytes_[15]};
}

std::string ip_address::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  if (v4_) {
    auto octets = v4_octets();
    inet_ntop(AF_INET, octets.data(), buffer, sizeof(buffer));
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  }
  return buffer;
}

} // namespace authsvc::auth
