#include "auth/browser_cookie.hpp"

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"
#include "auth/url.hpp"

namespace authsvc::auth {

namespace {

bool is_session_id(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (char c : s)
    if (!(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
          || (c >= 'A' && c <= 'F')))
      return false;
  return true;
}

bool is_secret(std::string_view s) {
  if (s.size() != 43)
    return false;
  for (char c : s)
    if (!(c == '-' || c == '_' || (c >= '0' && c <= '9')
          || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::optional<browser_cookie> split_value(std::string_view value) {
  // RFC 6265 allows a value in double quotes; ours never has them.
  auto dot = value.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto id = value.substr(0, dot);
  auto secret = value.substr(dot + 1);
  if (!is_session_id(id) || !is_secret(secret))
    return std::nullopt;
  return browser_cookie{std::string(id), std::string(secret)};
}

std::string attributes(bool secure) {
  std::string out = "; Path=/; HttpOnly; SameSite=Lax";
  if (secure)
    out += "; Secure";
  return out;
}

} // namespace

minted_browser_cookie mint_browser_cookie(const std::string& session_id) {
  minted_browser_cookie m;
  m.cookie.session_id = session_id;
  m.cookie.secret = random_token(32);
  m.secret_hash = token_hash(m.cookie.secret);
  return m;
}

std::string browser_cookie_value(const browser_cookie& c) {
  return c.session_id + "." + c.secret;
}

std::optional<browser_cookie> find_browser_cookie(std::string_view header) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{}
                                            : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      continue;
    if (trim(pair.substr(0, eq)) != browser_cookie_name)
      continue;
    if (auto c = split_value(trim(pair.substr(eq + 1))))
      return c;
  }
  return std::nullopt;
}

bool browser_secret_matches(std::string_view secret,
                            std::string_view stored_hash) {
  return !stored_hash.empty()
         && constant_time_equal(token_hash(secret), stored_hash);
}

std::string set_browser_cookie(std::string_view value, std::int64_t max_age,
                               bool secure) {
  return std::string(browser_cookie_name) + "=" + std::string(value)
         + "; Max-Age=" + std::to_string(max_age < 0 ? 0 : max_age)
         + attributes(secure);
}

std::string clear_browser_cookie(bool secure) {
  return std::string(browser_cookie_name) + "=; Max-Age=0" + attributes(secure);
}

std::string browser_csrf_token(std::string_view secret) {
  return base64url_encode(hmac_sha256(secret, "pa-csrf-v1"));
}

bool browser_csrf_matches(std::string_view secret, std::string_view submitted) {
  return !submitted.empty()
         && constant_time_equal(browser_csrf_token(secret), submitted);
}

bool browser_request_same_origin(std::string_view origin,
                                 std::string_view sec_fetch_site,
                                 std::string_view public_url) {
  // Both headers are checked when present; one of them must be.
  if (!sec_fetch_site.empty() && sec_fetch_site != "same-origin")
    return false;
  if (origin.empty())
    return sec_fetch_site == "same-origin";
  auto ours = parse_url(public_url);
  auto theirs = parse_url(origin);
  // An Origin is scheme://host[:port] and nothing else ("null" fails here).
  return ours && theirs && theirs->path == "/" && !theirs->has_query
         && !theirs->has_fragment && origin.back() != '/'
         && theirs->origin() == ours->origin();
}

csrf_verdict check_browser_csrf(std::string_view origin,
                                std::string_view sec_fetch_site,
                                std::string_view public_url,
                                std::string_view secret,
                                std::string_view submitted) {
  if (!browser_request_same_origin(origin, sec_fetch_site, public_url))
    return csrf_verdict::cross_site;
  if (!browser_csrf_matches(secret, submitted))
    return csrf_verdict::bad_token;
  return csrf_verdict::ok;
}

bool loopback_origin(std::string_view origin) {
  auto u = parse_url(origin);
  if (!u)
    return false;
  if (u->host_address)
    return classify_address(*u->host_address) == address_scope::loopback;
  const std::string suffix = ".localhost";
  return u->host == "localhost"
         || (u->host.size() > suffix.size()
             && u->host.compare(u->host.size() - suffix.size(), suffix.size(),
                                suffix)
                    == 0);
}

bool return_to_allowed(std::string_view target, std::string_view public_url) {
  if (target.empty() || target.size() > 2048 || target.front() != '/')
    return false;
  // `//host` and `/\host` are scheme-relative to a browser.
  if (target.size() > 1 && (target[1] == '/' || target[1] == '\\'))
    return false;
  auto ours = parse_url(public_url);
  if (!ours)
    return false;
  auto origin = ours->origin();
  return redirect_allowed(origin + std::string(target),
                          std::vector<std::string>{origin + "/"});
}

} // namespace authsvc::auth
