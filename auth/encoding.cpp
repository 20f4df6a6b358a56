#include "auth/encoding.hpp"

#include <array>

namespace authsvc::auth {

namespace {

constexpr char std_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(const std::uint8_t* data, std::size_t size,
                   const char* alphabet, bool pad) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (size - i == 1) {
    std::uint32_t v = data[i] << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad)
      out += "==";
  } else if (size - i == 2) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad)
      out += '=';
  }
  return out;
}

std::array<int, 256> make_table(const char* alphabet) {
  std::array<int, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}

std::optional<bytes> decode(std::string_view text,
                            const std::array<int, 256>& table) {
  // Strip at most two trailing '=' characters.
  std::size_t n = text.size();
  if (n % 4 == 0) {
    for (int k = 0; k < 2 && n > 0 && text[n - 1] == '='; ++k)
      --n;
  }
  text = text.substr(0, n);
  if (n % 4 == 1)
    return std::nullopt;
  bytes out;
  out.reserve(n * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, or two encodings would decode alike.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

} // namespace

bytes to_bytes(std::string_view s) {
  return bytes(s.begin(), s.end());
}

std::string to_string(const bytes& b) {
  return std::string(b.begin(), b.end());
}

std::string base64url_encode(const std::uint8_t* data, std::size_t size) {
  return encode(data, size, url_alphabet, false);
}
std::string base64url_encode(const bytes& data) {
  return base64url_encode(data.data(), data.size());
}
std::string base64url_encode(std::string_view data) {
  return base64url_encode(reinterpret_cast<const std::uint8_t*>(data.data()),
                          data.size());
}

std::optional<bytes> base64url_decode(std::string_view text) {
  static const auto table = make_table(url_alphabet);
  return decode(text, table);
}

std::string base64_encode(const std::uint8_t* data, std::size_t size) {
  return encode(data, size, std_alphabet, true);
}
std::string base64_encode(const bytes& data) {
  return base64_encode(data.data(), data.size());
}
std::string base64_encode(std::string_view data) {
  return base64_encode(reinterpret_cast<const std::uint8_t*>(data.data()),
                       data.size());
}

std::optional<bytes> base64_decode(std::string_view text) {
  static const auto table = make_table(std_alphabet);
  return decode(text, table);
}

std::string hex_encode(const std::uint8_t* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}
std::string hex_encode(const bytes& data) {
  return hex_encode(data.data(), data.size());
}
std::string hex_encode(std::string_view data) {
  return hex_encode(reinterpret_cast<const std::uint8_t*>(data.data()),
                    data.size());
}

std::optional<bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]);
    int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

} // namespace authsvc::auth
