#pragma once
// The one map from error codes to HTTP: every error the service answers has
// a stable snake_case code, a status, a generic message, and the shape
// {"error":{"code","message","request_id","details"?}}. Internal causes go
// to the log, never into a body.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/message.hpp"

namespace authsvc::http {

/// An error to answer with. `status` 0 means "the table's status for code".
struct api_error {
  std::string code;
  std::string message;
  nlohmann::json details;
  std::uint16_t status = 0;
};

/// The status for a known code (500 for an unknown one, which is a bug).
std::uint16_t status_for(std::string_view code);

/// True when `code` is a row of the api.md table.
bool is_known_code(std::string_view code);

/// The default human message for a known code.
std::string default_message(std::string_view code);

/// Builds the JSON error response (headers other than Content-Type are added
/// by the middleware).
response error_response(const api_error& err, const std::string& request_id);

/// Shorthand for a JSON response with a body.
response json_response(std::uint16_t status, const nlohmann::json& body);

} // namespace authsvc::http
