#pragma once
// The hosted sign-in page and its static assets, served from the binary.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles GET /static/{file}: embedded CSS and JavaScript.
void static_file(const context_ptr& ctx);

/// Handles GET /openapi.json: openapi.yaml, converted to JSON at build time.
void openapi_json(const context_ptr& ctx);

/// Handles GET /login: the hosted sign-in page (templates/pages/login.html);
/// its script and styles come from /static/.
void login_page(const context_ptr& ctx);

} // namespace authsvc::http_routes
