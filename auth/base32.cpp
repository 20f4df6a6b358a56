#include "auth/base32.hpp"

namespace authsvc::auth {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

} // namespace

std::string base32_encode(const bytes& data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t acc = 0;
  int bits = 0;
  for (auto b : data) {
    acc = ((acc << 8) | b) & 0xFFFF;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >> bits) & 31];
    }
  }
  if (bits > 0)
    out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}

std::optional<bytes> base32_decode(std::string_view text) {
  bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t symbols = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ')
      continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    // Data after padding means two strings were glued together.
    if (padding)
      return std::nullopt;
    int v = value_of(c);
    if (v < 0)
      return std::nullopt;
    acc = ((acc << 5) | static_cast<std::uint32_t>(v)) & 0xFFFF;
    bits += 5;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // Valid final groups carry 2, 4, 5 or 7 symbols (RFC 4648 §6); 1, 3 or 6
  // cannot come from whole bytes.
  auto tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6)
    return std::nullopt;
  // Leftover bits must be zero, or two encodings would decode alike.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

} // namespace authsvc::auth
