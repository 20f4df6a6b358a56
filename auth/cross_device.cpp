#include "auth/cross_device.hpp"

#include "auth/crypto.hpp"

namespace authsvc::auth {

namespace {

constexpr int lowest = 10;
constexpr int span = 90; // 10..99

int random_two_digit() {
  return lowest + static_cast<int>(random_below(span));
}

} // namespace

int generate_match_number() {
  return random_two_digit();
}

std::array<int, 3> make_match_choices(int number) {
  std::array<int, 3> out{number, 0, 0};
  for (std::size_t i = 1; i < out.size(); ++i) {
    int d = 0;
    do
      d = random_two_digit();
    while (d == out[0] || (i == 2 && d == out[1]));
    out[i] = d;
  }
  // Fisher-Yates: the right number is equally likely at every place.
  for (std::size_t i = out.size() - 1; i > 0; --i) {
    auto j = static_cast<std::size_t>(random_below(i + 1));
    std::swap(out[i], out[j]);
  }
  return out;
}

std::string encode_match_choices(const std::array<int, 3>& choices) {
  std::string out;
  for (auto c : choices) {
    if (!out.empty())
      out += ',';
    out += std::to_string(c);
  }
  return out;
}

std::optional<std::array<int, 3>> decode_match_choices(std::string_view text) {
  std::array<int, 3> out{};
  std::size_t pos = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (pos + 2 > text.size())
      return std::nullopt;
    auto a = text[pos];
    auto b = text[pos + 1];
    if (a < '1' || a > '9' || b < '0' || b > '9')
      return std::nullopt;
    out[i] = (a - '0') * 10 + (b - '0');
    pos += 2;
    if (i + 1 < out.size()) {
      if (pos >= text.size() || text[pos] != ',')
        return std::nullopt;
      ++pos;
    }
  }
  if (pos != text.size())
    return std::nullopt;
  return out;
}

std::string display_user_agent(std::string_view text, std::size_t max) {
  std::string clean;
  clean.reserve(std::min(text.size(), max + 1));
  bool space = false;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80)
      continue; // part of a non-ASCII sequence: dropped whole
    if (c <= 0x20 || c == 0x7f) {
      space = !clean.empty();
      continue;
    }
    if (space)
      clean += ' ';
    space = false;
    clean += ch;
    if (clean.size() > max)
      break; // enough to know it must be cut
  }
  if (clean.size() > max) {
    clean.resize(max - 3);
    while (!clean.empty() && clean.back() == ' ')
      clean.pop_back();
    clean += "...";
  }
  return clean;
}

} // namespace authsvc::auth
