#pragma once
// The OpenID Provider's endpoints (issue 16, docs/oidc.md): discovery, the
// authorization endpoint and its consent form, the token endpoint
// (authorization_code with PKCE, refresh_token), userinfo, revocation
// (RFC 7009) and RP-initiated logout. Thin translators: the protocol checks
// are auth/oauth, the rows db/oauth_store, the sessions and keys the
// session actor, the browser session front/browser_session.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles GET /.well-known/openid-configuration.
void oidc_discovery(const context_ptr& ctx);
/// Handles GET /oauth2/authorize.
void oauth_authorize(const context_ptr& ctx);
/// Handles POST /oauth2/authorize/consent (the consent page's form).
void oauth_consent(const context_ptr& ctx);
/// Handles POST /oauth2/token.
void oauth_token(const context_ptr& ctx);
/// Handles GET and POST /oauth2/userinfo.
void oauth_userinfo(const context_ptr& ctx);
/// Handles POST /oauth2/revoke.
void oauth_revoke(const context_ptr& ctx);
/// Handles GET /oauth2/logout.
void oauth_logout(const context_ptr& ctx);

} // namespace authsvc::http_routes
