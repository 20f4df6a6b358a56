#include "auth/otp_code.hpp"

#include <algorithm>

#include "auth/crypto.hpp"

namespace authsvc::auth {

std::string generate_otp_code(int digits) {
  digits = std::clamp(digits, 1, 18);
  std::uint64_t bound = 1;
  for (int i = 0; i < digits; ++i)
    bound *= 10;
  auto value = random_below(bound);
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

std::string hash_otp_code(std::string_view server_key, std::string_view flow_id,
                          std::string_view code) {
  // label || 0 || len(flow_id) as 8 bytes big-endian || flow_id || code: the
  // length prefix keeps ("ab", "1") and ("a", "b1") apart.
  std::string msg = "passwordless-auth/otp-code/v1";
  msg += '\0';
  std::uint64_t n = flow_id.size();
  for (int shift = 56; shift >= 0; shift -= 8)
    msg += static_cast<char>((n >> shift) & 0xFF);
  msg.append(flow_id);
  msg.append(code);
  return hex_encode(hmac_sha256(server_key, msg));
}

bool verify_otp_code(std::string_view server_key, std::string_view flow_id,
                     std::string_view code, std::string_view stored_hash) {
  auto computed = hash_otp_code(server_key, flow_id, code);
  return constant_time_equal(std::string_view{computed}, stored_hash);
}

} // namespace authsvc::auth
