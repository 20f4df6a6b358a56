#include "front/middleware.hpp"
#include "auth/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iterator>

#include <zlib.h>

#include "auth/crypto.hpp"
#include "auth/url.hpp"

namespace authsvc::http {

namespace {

bool accepts_gzip(std::string_view header) {
  // Accept-Encoding: gzip;q=0 means "not gzip".
  std::size_t i = 0;
  while (i <= header.size()) {
    auto j = header.find(',', i);
    if (j == std::string_view::npos)
      j = header.size();
    auto item = auth::trim_ows(header.substr(i, j - i));
    auto semi = item.find(';');
    auto coding = auth::ascii_lower(auth::trim_ows(item.substr(0, semi)));
    if (coding == "gzip" || coding == "*") {
      if (semi == std::string_view::npos)
        return true;
      auto params = auth::ascii_lower(item.substr(semi + 1));
      auto q = params.find("q=");
      if (q == std::string::npos)
        return true;
      try {
        return std::stod(params.substr(q + 2)) > 0;
      } catch (...) {
        return false;
      }
    }
    i = j + 1;
  }
  return false;
}

bool compressible(std::string_view content_type) {
  auto ct = auth::ascii_lower(content_type);
  return ct.rfind("application/json", 0) == 0 || ct.rfind("text/", 0) == 0
         || ct.rfind("application/javascript", 0) == 0
         || ct.rfind("image/svg+xml", 0) == 0
         || ct.rfind("application/yaml", 0) == 0;
}

} // namespace

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_'
           || c == '-';
  });
}

std::string resolve_request_id(const request& req) {
  auto id = req.header("X-Request-ID");
  if (valid_request_id(id))
    return std::string(id);
  // Request ids are not secrets, only unique: a per-thread random prefix
  // plus a counter avoids a CSPRNG call on every request.
  thread_local const std::string prefix
      = auth::hex_encode(auth::random_bytes(8));
  thread_local std::uint64_t counter = 0;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(++counter));
  return prefix + buf;
}

void apply_security_headers(response& r, bool https,
                            std::int64_t hsts_max_age) {
  // Every response carries these, and handlers rarely set any of them: one
  // pass finds those already present, the rest are appended (no per-name
  // search). A handler's Content-Security-Policy is kept; the others are
  // overwritten, as before.
  static const header_field fixed[] = {
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "strict-origin-when-cross-origin"},
      {"Permissions-Policy",
       "geolocation=(), microphone=(), camera=(), payment=(), usb=()"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Content-Security-Policy", api_csp},
  };
  constexpr std::size_t csp = 5;
  constexpr std::size_t n = std::size(fixed);
  std::size_t at[n + 1];
  constexpr auto none = static_cast<std::size_t>(-1);
  std::fill(std::begin(at), std::end(at), none);
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const auto& name = r.headers[i].name;
    for (std::size_t k = 0; k < n; ++k)
      if (at[k] == none && iequals(name, fixed[k].name))
        at[k] = i;
    if (at[n] == none && iequals(name, "Strict-Transport-Security"))
      at[n] = i;
  }
  r.headers.reserve(r.headers.size() + n + 1);
  for (std::size_t k = 0; k < n; ++k) {
    if (at[k] == none)
      r.headers.push_back(fixed[k]);
    else if (k != csp)
      r.headers[at[k]].value = fixed[k].value;
  }
  if (https && hsts_max_age > 0)
    r.set_header("Strict-Transport-Security",
                 "max-age=" + std::to_string(hsts_max_age)
                     + "; includeSubDomains");
  else if (at[n] != none)
    r.remove_header("Strict-Transport-Security");
}

cors_policy::cors_policy(std::vector<std::string> origins)
    : origins_(std::move(origins)) {
  any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

bool cors_policy::is_preflight(const request& req) {
  return req.method == "OPTIONS" && req.has_header("Origin")
         && req.has_header("Access-Control-Request-Method");
}

bool cors_policy::origin_allowed(std::string_view origin) const {
  if (origin.empty() || origin == "null")
    return false;
  if (any_)
    return true;
  return std::any_of(origins_.begin(), origins_.end(),
                     [&](const std::string& o) { return o == origin; });
}

response cors_policy::preflight(const request& req,
                                const std::vector<std::string>& methods,
                                const std::string& request_id) const {
  auto origin = req.header("Origin");
  auto wanted = std::string(req.header("Access-Control-Request-Method"));
  bool method_ok
      = std::find(methods.begin(), methods.end(), wanted) != methods.end();
  if (!origin_allowed(origin) || !method_ok) {
    auto r = error_response({"cors_denied", {}, {}, 0}, request_id);
    r.set_header("Vary", "Origin");
    return r;
  }
  response r;
  r.status = 204;
  // Bearer tokens travel in Authorization, never in cookies, so the policy
  // never allows credentials; with "*" configured, the literal "*" is sent.
  r.set_header("Access-Control-Allow-Origin",
               any_ ? std::string("*") : std::string(origin));
  std::string allow;
  for (const auto& m : methods)
    allow += (allow.empty() ? "" : ", ") + m;
  r.set_header("Access-Control-Allow-Methods", allow);
  r.set_header("Access-Control-Allow-Headers",
               "Authorization, Content-Type, X-Request-ID, Accept-Language");
  r.set_header("Access-Control-Max-Age", "600");
  r.set_header("Vary", "Origin");
  return r;
}

void cors_policy::decorate(const request& req, response& r) const {
  auto origin = req.header("Origin");
  if (!origin_allowed(origin))
    return;
  r.set_header("Access-Control-Allow-Origin",
               any_ ? std::string("*") : std::string(origin));
  r.set_header("Access-Control-Expose-Headers",
               "X-Request-ID, Retry-After, RateLimit-Limit, "
               "RateLimit-Remaining, RateLimit-Reset, WWW-Authenticate");
  auto vary = std::string(r.header("Vary"));
  if (vary.find("Origin") == std::string::npos)
    r.set_header("Vary", vary.empty() ? "Origin" : vary + ", Origin");
}

std::string gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY)
      != Z_OK)
    return {};
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

void maybe_compress(const request& req, response& r) {
  if (r.body.size() < 1024 || !r.header("Content-Encoding").empty()
      || !compressible(r.header("Content-Type"))
      || !accepts_gzip(req.header("Accept-Encoding")))
    return;
  auto z = gzip(r.body);
  if (z.empty() || z.size() >= r.body.size())
    return;
  r.body = std::move(z);
  r.set_header("Content-Encoding", "gzip");
  auto vary = std::string(r.header("Vary"));
  r.set_header("Vary",
               vary.empty() ? "Accept-Encoding" : vary + ", Accept-Encoding");
}

bool has_media_type(const request& req, std::string_view type) {
  auto ct = req.header("Content-Type");
  auto semi = ct.find(';');
  return auth::ascii_lower(auth::trim_ows(ct.substr(0, semi)))
         == auth::ascii_lower(type);
}

json_body parse_json_body(const request& req) {
  json_body out;
  if (!has_media_type(req, "application/json")) {
    out.error = api_error{"unsupported_media_type", {}, {}, 0};
    return out;
  }
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    out.error = api_error{"invalid_json", {}, {}, 0};
    return out;
  }
  if (!j.is_object()) {
    out.error = api_error{"validation_failed",
                          "The body must be a JSON object.",
                          {{"body", "must be an object"}},
                          0};
    return out;
  }
  out.value = std::move(j);
  return out;
}

std::vector<std::pair<std::string, std::string>>
parse_form(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find('&', i);
    if (j == std::string_view::npos)
      j = s.size();
    auto pair = s.substr(i, j - i);
    auto eq = pair.find('=');
    auto k = auth::form_url_decode(pair.substr(0, eq));
    auto v = eq == std::string_view::npos
                 ? std::optional<std::string>("")
                 : auth::form_url_decode(pair.substr(eq + 1));
    if (k && v && !k->empty())
      out.emplace_back(std::move(*k), std::move(*v));
    i = j + 1;
  }
  return out;
}

std::optional<std::string>
form_value(const std::vector<std::pair<std::string, std::string>>& form,
           std::string_view key) {
  for (const auto& [k, v] : form)
    if (k == key)
      return v;
  return std::nullopt;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace authsvc::http
