#pragma once
// ASCII text helpers shared by every parser (headers, config, locales,
// templates, CIDR lists). Locale-independent on purpose: protocol tokens are
// ASCII, and the C library's tolower/isspace depend on the process locale.
#include <string>
#include <string_view>

namespace authsvc::auth {

/// `c` lower-cased when it is an ASCII capital, else unchanged.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `s` with ASCII capitals lower-cased.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = ascii_lower(c);
  return out;
}

/// `s` without leading and trailing spaces and tabs (HTTP's OWS).
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// `s` without leading and trailing ASCII white space (" \t\r\n\v\f").
inline std::string_view trim_space(std::string_view s) {
  constexpr std::string_view space = " \t\r\n\v\f";
  auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

} // namespace authsvc::auth
