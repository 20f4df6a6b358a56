#pragma once
// Email sign-in: magic links (scanner-safe: GET shows a page, POST consumes)
// and one-time codes, with cross-device collection and redirect exchange.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/auth/email/start (and the seed's POST /request/magic).
void email_start(const context_ptr& ctx);

/// Handles GET/HEAD /v1/auth/email/link (and GET /verify/magic): a page
/// with a button; consumes nothing.
void email_link_page(const context_ptr& ctx);

/// Handles POST /v1/auth/email/link: consumes the link token.
void email_link_consume(const context_ptr& ctx);

/// Handles POST /v1/auth/email/verify-code.
void email_verify_code(const context_ptr& ctx);

/// Handles POST /v1/auth/email/exchange: the starting device collects.
void email_exchange(const context_ptr& ctx);

/// Handles POST /v1/auth/exchange: trades a one-time redirect code.
void code_exchange(const context_ptr& ctx);

} // namespace authsvc::http_routes
