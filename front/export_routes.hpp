#pragma once
// The personal data export (GDPR art. 15/20, issue #17): one JSON document
// with everything the service holds about an account, for the user
// (GET /v1/me/export, a recent sign-in) and for the operator
// (GET /v1/admin/users/{id}/export). docs/account-lifecycle.md lists what it
// contains; db/export_store.hpp gathers it.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles GET /v1/me/export.
void me_export(const context_ptr& ctx);

/// Handles GET /v1/admin/users/{id}/export.
void admin_user_export(const context_ptr& ctx);

} // namespace authsvc::http_routes
