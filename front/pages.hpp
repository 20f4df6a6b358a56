#pragma once
// The service's own HTML pages (templates/pages/*.html), rendered with
// mustache so every value is HTML-escaped, and served with a CSP that allows
// only the service itself.
#include <string>

#include <nlohmann/json.hpp>

#include "http/message.hpp"

namespace authsvc::http {

/// Renders templates/pages/<name>.html with `vars`.
/// @throws std::runtime_error for an unknown page (a bug, not a client error).
std::string render_page(const std::string& name, const nlohmann::json& vars);

/// A text/html response for a rendered page, with the page CSP and no-store.
response page_response(std::uint16_t status, const std::string& name,
                       const nlohmann::json& vars);

/// Checks at start that every page template exists and renders.
/// @throws std::runtime_error naming the broken page.
void validate_pages();

} // namespace authsvc::http
