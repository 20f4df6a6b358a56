#pragma once
// Account lifecycle routes (issue #17): the email change. The new address
// confirms by link (scanner-safe: GET shows a page, POST consumes) or by
// code; the old address cancels by link (the same two steps).
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/me/email: asks to move the account to a new address.
/// Answers the same 202 whatever the address (free, taken, the current one,
/// or out of send budget).
void me_email_change(const context_ptr& ctx);

/// Handles POST /v1/me/email/confirm: the code the new address received.
void me_email_confirm_code(const context_ptr& ctx);

/// Handles GET /v1/email-change/confirm: a page with a button; consumes
/// nothing.
void email_change_confirm_page(const context_ptr& ctx);

/// Handles POST /v1/email-change/confirm (JSON or form): consumes the link.
void email_change_confirm(const context_ptr& ctx);

/// Handles GET /v1/email-change/cancel: a page with a button; changes
/// nothing.
void email_change_cancel_page(const context_ptr& ctx);

/// Handles POST /v1/email-change/cancel (JSON or form): "this was not me".
void email_change_cancel(const context_ptr& ctx);

} // namespace authsvc::http_routes
