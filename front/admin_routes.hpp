#pragma once
// The admin API (Bearer admin key; every call audited with the key id):
// users, sessions, audit trail, stats, IP filters, webhooks, key rotation.
// Nothing here ever returns secret material (no token, hash or secret),
// except a new webhook's signing secret, once, when it is created.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles GET /v1/admin/users?query=&limit=&cursor=.
void admin_users(const context_ptr& ctx);
/// Handles GET /v1/admin/users/{id}: the user with counts.
void admin_user_get(const context_ptr& ctx);
/// Handles PATCH /v1/admin/users/{id} {"disabled"}: disabling revokes.
void admin_user_patch(const context_ptr& ctx);
/// Handles DELETE /v1/admin/users/{id}.
void admin_user_delete(const context_ptr& ctx);
/// Handles POST /v1/admin/users/{id}/unlock: clears lockouts.
void admin_user_unlock(const context_ptr& ctx);
/// Handles GET /v1/admin/users/{id}/sessions.
void admin_user_sessions(const context_ptr& ctx);
/// Handles DELETE /v1/admin/users/{id}/sessions: revokes all.
void admin_user_sessions_delete(const context_ptr& ctx);
/// Handles DELETE /v1/admin/sessions/{id}.
void admin_session_delete(const context_ptr& ctx);
/// Handles GET /v1/admin/audit with filters and cursor pagination.
void admin_audit(const context_ptr& ctx);
/// Handles GET /v1/admin/stats (and the seed's GET /admin/stats).
void admin_stats(const context_ptr& ctx);
/// Handles GET /v1/admin/ip-filters.
void admin_ip_filters(const context_ptr& ctx);
/// Handles POST /v1/admin/ip-filters.
void admin_ip_filter_create(const context_ptr& ctx);
/// Handles GET /v1/admin/ip-filters/{id}.
void admin_ip_filter_get(const context_ptr& ctx);
/// Handles DELETE /v1/admin/ip-filters/{id}.
void admin_ip_filter_delete(const context_ptr& ctx);
/// Handles GET /v1/admin/webhooks.
void admin_webhooks(const context_ptr& ctx);
/// Handles POST /v1/admin/webhooks: answers the secret once.
void admin_webhook_create(const context_ptr& ctx);
/// Handles GET /v1/admin/webhooks/{id}.
void admin_webhook_get(const context_ptr& ctx);
/// Handles DELETE /v1/admin/webhooks/{id}.
void admin_webhook_delete(const context_ptr& ctx);
/// Handles GET /v1/admin/webhooks/{id}/deliveries.
void admin_webhook_deliveries(const context_ptr& ctx);
/// Handles POST /v1/admin/keys/rotate.
void admin_keys_rotate(const context_ptr& ctx);

/// Reloads the IP-filter snapshots after the table changed, then `then`.
void ip_filters_changed(const context_ptr& ctx,
                        const std::function<void()>& then);

} // namespace authsvc::http_routes
