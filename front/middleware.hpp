#pragma once
// Request and response processing that every route shares: request ids,
// security headers, CORS, compression and body decoding. Pure functions over
// http::request / http::response, applied in one place by the front actors.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "front/errors.hpp"
#include "http/message.hpp"

namespace authsvc::http {

/// The client's X-Request-ID when well formed (1-128 of [A-Za-z0-9._-]),
/// otherwise a fresh random id.
std::string resolve_request_id(const request& req);

/// True for a well-formed client request id.
bool valid_request_id(std::string_view id);

/// The Content-Security-Policy for API (JSON) responses: nothing may load.
inline constexpr const char* api_csp
    = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
      "form-action 'none'";

/// The policy for the service's own HTML pages: only the service itself.
inline constexpr const char* page_csp
    = "default-src 'self'; script-src 'self'; style-src 'self'; "
      "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
      "frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Adds the security headers (seed values; HSTS only when `https`).
/// A handler's own Content-Security-Policy is kept.
void apply_security_headers(response& r, bool https, std::int64_t hsts_max_age);

/// Cross-origin policy from the configured origin allow list.
class cors_policy {
public:
  explicit cors_policy(std::vector<std::string> origins = {});

  /// True when the request is a CORS preflight (OPTIONS + Origin +
  /// Access-Control-Request-Method).
  static bool is_preflight(const request& req);

  bool origin_allowed(std::string_view origin) const;

  /// Answers a preflight for a route allowing `methods`: 204 with the CORS
  /// headers when the origin is allowed, else 403 cors_denied.
  response preflight(const request& req,
                     const std::vector<std::string>& methods,
                     const std::string& request_id) const;

  /// Adds CORS headers to an actual response when the origin is allowed.
  void decorate(const request& req, response& r) const;

private:
  std::vector<std::string> origins_;
  bool any_ = false;
};

/// Gzips the body when the client accepts gzip, the type is textual and the
/// body is large enough to be worth it (≥ 1 KiB).
void maybe_compress(const request& req, response& r);

/// gzip-compresses (used by maybe_compress; exposed for tests).
std::string gzip(std::string_view data);

/// Outcome of reading a JSON body.
struct json_body {
  std::optional<nlohmann::json> value;
  std::optional<api_error> error;
};

/// Requires Content-Type application/json (415 otherwise) and a JSON object
/// body (400 invalid_json for malformed JSON; 422 for a non-object).
json_body parse_json_body(const request& req);

/// True when the Content-Type's media type equals `type` (ignoring params).
bool has_media_type(const request& req, std::string_view type);

/// Parses `a=b&c=d` (query or form body); the first value of a key wins.
/// Malformed pairs are skipped.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view s);

/// The value for `key` in a parsed form, if present.
std::optional<std::string>
form_value(const std::vector<std::pair<std::string, std::string>>& form,
           std::string_view key);

/// Escapes text for HTML element and attribute content.
std::string html_escape(std::string_view s);

} // namespace authsvc::http
