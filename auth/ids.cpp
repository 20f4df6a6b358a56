#include "auth/ids.hpp"

#include "auth/crypto.hpp"

namespace authsvc::auth {

std::string uuid_v4() {
  auto b = random_bytes(16);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  auto h = hex_encode(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-"
         + h.substr(16, 4) + "-" + h.substr(20, 12);
}

} // namespace authsvc::auth
