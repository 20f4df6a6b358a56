#pragma once
// Tokens and sessions: refresh rotation, the session check, logout, the
// signed-in user's profile and sessions, and the JWKS document.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/token/refresh (and the seed's POST /token/refresh).
void token_refresh(const context_ptr& ctx);

/// Handles GET /v1/session: the token is valid and its session live.
void session_get(const context_ptr& ctx);

/// Handles POST /v1/auth/logout with scope local, others or global.
void logout(const context_ptr& ctx);

/// Handles GET /v1/me.
void me_get(const context_ptr& ctx);

/// Handles PATCH /v1/me: display_name, locale and user_metadata (merged).
void me_patch(const context_ptr& ctx);

/// Handles /v1/me, method delete: the account and everything tied to it.
void me_delete(const context_ptr& ctx);

/// Handles GET /v1/me/sessions.
void me_sessions(const context_ptr& ctx);

/// Handles /v1/me/sessions/{id}, method delete.
void me_session_delete(const context_ptr& ctx);

/// Handles GET /.well-known/jwks.json.
void jwks(const context_ptr& ctx);

} // namespace authsvc::http_routes
