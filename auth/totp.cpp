#include "auth/totp.hpp"

#include <cstdio>
#include <cstdlib>

#include <openssl/evp.h>

#include "auth/crypto.hpp"

namespace authsvc::auth {

namespace {

const char* digest_name(otp_hash h) {
  switch (h) {
  case otp_hash::sha256:
    return "SHA256";
  case otp_hash::sha512:
    return "SHA512";
  default:
    return "SHA1";
  }
}

bytes hmac(otp_hash h, const bytes& key, const std::uint8_t* data,
           std::size_t size) {
  bytes out(EVP_MAX_MD_SIZE);
  std::size_t len = 0;
  // EVP_Q_mac rejects a null key pointer; an empty secret is still hashed.
  static const unsigned char empty = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(h), nullptr,
                key.empty() ? &empty : key.data(), key.size(), data, size,
                out.data(), out.size(), &len)
      == nullptr) {
    std::fputs("fatal: EVP_Q_mac failed\n", stderr);
    std::abort();
  }
  out.resize(len);
  return out;
}

constexpr std::uint32_t pow10(int digits) {
  std::uint32_t r = 1;
  for (int i = 0; i < digits; ++i)
    r *= 10;
  return r;
}

} // namespace

std::string_view to_string(otp_hash h) {
  return digest_name(h);
}

bytes generate_totp_secret(std::size_t size) {
  return random_bytes(size);
}

std::string hotp(const bytes& secret, std::uint64_t counter, int digits,
                 otp_hash hash) {
  if (digits < 6 || digits > 8)
    return {};
  std::uint8_t msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<std::uint8_t>(counter & 0xFF);
    counter >>= 8;
  }
  auto mac = hmac(hash, secret, msg, sizeof(msg));
  // Dynamic truncation (RFC 4226 §5.3): the low nibble of the last byte picks
  // the 4 bytes to use, whatever the MAC length.
  auto offset = mac.back() & 0x0F;
  std::uint32_t bin = (static_cast<std::uint32_t>(mac[offset] & 0x7F) << 24)
                      | (static_cast<std::uint32_t>(mac[offset + 1]) << 16)
                      | (static_cast<std::uint32_t>(mac[offset + 2]) << 8)
                      | static_cast<std::uint32_t>(mac[offset + 3]);
  auto value = bin % pow10(digits);
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

std::optional<std::uint64_t> totp_step(std::int64_t unix_time,
                                       const totp_params& params) {
  if (params.period <= 0 || unix_time < params.t0)
    return std::nullopt;
  return static_cast<std::uint64_t>(unix_time - params.t0)
         / static_cast<std::uint64_t>(params.period);
}

std::string totp(const bytes& secret, std::int64_t unix_time,
                 const totp_params& params) {
  auto step = totp_step(unix_time, params);
  if (!step)
    return {};
  return hotp(secret, *step, params.digits, params.hash);
}

std::optional<std::uint64_t>
verify_totp(const bytes& secret, std::string_view code, std::int64_t now,
            int window, std::optional<std::uint64_t> last_used_step,
            const totp_params& params) {
  if (params.digits < 6 || params.digits > 8 || window < 0 || window > 10)
    return std::nullopt;
  if (code.size() != static_cast<std::size_t>(params.digits))
    return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9')
      return std::nullopt;
  auto current = totp_step(now, params);
  if (!current)
    return std::nullopt;
  // Compare against every candidate without stopping at the first match, so
  // the time taken does not reveal which step (if any) matched.
  std::optional<std::uint64_t> matched;
  for (int d = -window; d <= window; ++d) {
    if (d < 0 && *current < static_cast<std::uint64_t>(-d))
      continue;
    auto step
        = *current + static_cast<std::uint64_t>(static_cast<std::int64_t>(d));
    auto expected = hotp(secret, step, params.digits, params.hash);
    bool equal = constant_time_equal(std::string_view{expected}, code);
    bool fresh = !last_used_step || step > *last_used_step;
    if (equal && fresh && !matched)
      matched = step;
  }
  return matched;
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                      || (c >= '0' && c <= '9') || c == '-' || c == '.'
                      || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account_label,
                        std::string_view secret_b32,
                        const totp_params& params) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) {
    uri += percent_encode(issuer);
    uri += ':';
  }
  uri += percent_encode(account_label);
  uri += "?secret=";
  uri += percent_encode(secret_b32);
  if (!issuer.empty()) {
    uri += "&issuer=";
    uri += percent_encode(issuer);
  }
  uri += "&algorithm=";
  uri += to_string(params.hash);
  uri += "&digits=";
  uri += std::to_string(params.digits);
  uri += "&period=";
  uri += std::to_string(params.period);
  return uri;
}

} // namespace authsvc::auth
