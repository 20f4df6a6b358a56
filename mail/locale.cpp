#include "mail/locale.hpp"
#include "auth/text.hpp"

#include <algorithm>
#include <cctype>

namespace authsvc::mail {

namespace {

/// RFC 9110 qvalue, read leniently ("0.5", "1", ".5" and "0.50000" pass) but
/// bounded to [0, 1].
std::optional<double> parse_q(std::string_view s) {
  if (s.empty() || s.size() > 8)
    return std::nullopt;
  double value = 0;
  double scale = 0; // 0 while reading the integer part
  bool digits = false;
  for (char c : s) {
    if (c == '.') {
      if (scale != 0)
        return std::nullopt;
      scale = 0.1;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (scale == 0) {
        value = value * 10 + (c - '0');
      } else {
        value += (c - '0') * scale;
        scale /= 10;
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digits || value > 1.0)
    return std::nullopt;
  return value;
}

} // namespace

const std::vector<std::string>& supported_locales() {
  static const std::vector<std::string> tags
      = {"en", "de", "fr", "es", "pt-BR", "ja"};
  return tags;
}

std::optional<std::string> match_locale(std::string_view tag) {
  auto t = auth::ascii_lower(auth::trim_ows(tag));
  std::replace(t.begin(), t.end(), '_', '-');
  if (t.empty() || t.size() > 35)
    return std::nullopt;
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
      return std::nullopt;
  // Exact match first, so a future pt-PT template set would win over pt-BR.
  for (const auto& s : supported_locales())
    if (auth::ascii_lower(s) == t)
      return s;
  auto primary = t.substr(0, t.find('-'));
  if (primary == "pt")
    return std::string{"pt-BR"};
  for (const auto& s : supported_locales())
    if (auth::ascii_lower(s) == primary)
      return s;
  return std::nullopt;
}

std::vector<language_range> parse_accept_language(std::string_view header) {
  std::vector<language_range> out;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = auth::trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{}
                                             : header.substr(comma + 1);
    if (item.empty())
      continue;
    auto semi = item.find(';');
    language_range r;
    r.range = std::string(auth::trim_ows(item.substr(0, semi)));
    bool valid = !r.range.empty();
    for (char c : r.range)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '*'
          && c != '_')
        valid = false;
    // Parameters: only q matters; an unreadable q discards the entry rather
    // than guessing its weight.
    while (valid && semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      auto param = auth::trim_ows(item.substr(0, semi));
      auto eq = param.find('=');
      if (eq == std::string_view::npos)
        continue;
      if (auth::ascii_lower(auth::trim_ows(param.substr(0, eq))) != "q")
        continue;
      if (auto q = parse_q(auth::trim_ows(param.substr(eq + 1))))
        r.q = *q;
      else
        valid = false;
    }
    if (valid)
      out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.q > b.q; });
  return out;
}

std::string choose_locale(std::string_view request_locale,
                          std::string_view user_locale,
                          std::string_view accept_language,
                          std::string_view default_locale) {
  if (auto m = match_locale(request_locale))
    return *m;
  if (auto m = match_locale(user_locale))
    return *m;
  auto ranges = parse_accept_language(accept_language);
  // A language excluded with q=0 must not be picked through a broader range
  // ("*" or a sibling region), so collect the exclusions first.
  std::vector<std::string> excluded;
  for (const auto& r : ranges)
    if (r.q <= 0)
      if (auto m = match_locale(r.range)) {
        // "pt;q=0" rules out pt-BR, but "de-CH;q=0" does not rule out de.
        auto range = auth::ascii_lower(r.range);
        std::replace(range.begin(), range.end(), '_', '-');
        auto tag = auth::ascii_lower(*m);
        if (range == tag || range == tag.substr(0, tag.find('-')))
          excluded.push_back(*m);
      }
  auto allowed = [&](const std::string& tag) {
    return std::find(excluded.begin(), excluded.end(), tag) == excluded.end();
  };
  for (const auto& r : ranges) {
    if (r.q <= 0)
      break; // sorted: nothing acceptable follows
    if (r.range == "*") {
      // Any language will do: prefer the operator's default.
      if (auto m = match_locale(default_locale); m && allowed(*m))
        return *m;
      for (const auto& s : supported_locales())
        if (allowed(s))
          return s;
      continue;
    }
    if (auto m = match_locale(r.range); m && allowed(*m))
      return *m;
  }
  if (auto m = match_locale(default_locale))
    return *m;
  return "en";
}

} // namespace authsvc::mail
