// The route table: every path the service answers, in one place. Guards and
// rate-limit classes are declared here and applied by the front actor.
// `recent` guards the changes a stolen access token must not make alone
// (issue #11, Medium 3): adding a passkey, enrolling or disabling TOTP,
// new recovery codes, deleting the account.
#include "front/http_front.hpp"
#include "front/account_routes.hpp"
#include "front/admin_routes.hpp"
#include "front/browser_routes.hpp"
#include "front/email_routes.hpp"
#include "front/export_routes.hpp"
#include "front/fault_routes.hpp"
#include "front/oauth_admin_routes.hpp"
#include "front/oauth_routes.hpp"
#include "front/ops_routes.hpp"
#include "front/passkey_routes.hpp"
#include "front/session_routes.hpp"
#include "front/static_routes.hpp"
#include "front/totp_routes.hpp"

namespace authsvc {

namespace {

/// The seed's routes still work, marked as deprecated (RFC 9745).
template <handler_fn F>
void deprecated(const context_ptr& ctx) {
  ctx->extra_headers.push_back({"Deprecation", "true"});
  F(ctx);
}

} // namespace

const http::router<route_entry>& route_table() {
  static const auto table = [] {
    namespace r = http_routes;
    using g = route_guard;
    http::router<route_entry> t;
    // -- operations --
    t.add(http::method::get, "/health", {r::health, g::ops});
    t.add(http::method::get, "/liveness", {r::liveness, g::ops});
    t.add(http::method::get, "/readiness", {r::readiness, g::ops});
    t.add(http::method::get, "/metrics", {r::metrics, g::ops});
    t.add(http::method::get, "/.well-known/jwks.json", {r::jwks, g::none});
    t.add(http::method::get, "/static/{file}", {r::static_file, g::none});
    t.add(http::method::get, "/openapi.json", {r::openapi_json, g::none});
    // -- email sign-in --
    t.add(http::method::post, "/v1/auth/email/start",
          {r::email_start, g::none, "email_send"});
    t.add(http::method::get, "/v1/auth/email/link",
          {r::email_link_page, g::none});
    t.add(http::method::post, "/v1/auth/email/link",
          {r::cookie_sign_in<r::email_link_consume>, g::none, "verify"});
    t.add(http::method::post, "/v1/auth/email/verify-code",
          {r::cookie_sign_in<r::email_verify_code>, g::none, "verify"});
    t.add(http::method::post, "/v1/auth/email/exchange",
          {r::cookie_sign_in<r::email_exchange>, g::none, "verify"});
    t.add(http::method::post, "/v1/auth/exchange",
          {r::cookie_sign_in<r::code_exchange>, g::none, "verify"});
    // -- tokens and sessions --
    t.add(http::method::post, "/v1/token/refresh",
          {r::token_refresh, g::none, "refresh"});
    t.add(http::method::get, "/v1/session", {r::session_get, g::user});
    t.add(http::method::post, "/v1/auth/logout", {r::logout, g::user});
    t.add(http::method::get, "/v1/me", {r::me_get, g::user});
    t.add(http::method::patch, "/v1/me", {r::me_patch, g::user});
    t.add(http::method::del, "/v1/me", {r::me_delete, g::recent});
    t.add(http::method::get, "/v1/me/sessions", {r::me_sessions, g::user});
    t.add(http::method::del, "/v1/me/sessions/{id}",
          {r::me_session_delete, g::user});
    // -- account lifecycle: email change (issue #17) --
    t.add(http::method::post, "/v1/me/email",
          {r::me_email_change, g::recent, "email_send"});
    t.add(http::method::post, "/v1/me/email/confirm",
          {r::me_email_confirm_code, g::user, "verify"});
    t.add(http::method::get, "/v1/email-change/confirm",
          {r::email_change_confirm_page, g::none});
    t.add(http::method::post, "/v1/email-change/confirm",
          {r::email_change_confirm, g::none, "verify"});
    t.add(http::method::get, "/v1/email-change/cancel",
          {r::email_change_cancel_page, g::none});
    t.add(http::method::post, "/v1/email-change/cancel",
          {r::email_change_cancel, g::none, "verify"});
    // -- admin --
    // Fault injection (issue 15): a 404 unless admin.fault_injection is on.
    t.add(http::method::post, "/v1/admin/faults",
          {r::admin_faults, g::admin});
    t.add(http::method::get, "/v1/admin/users", {r::admin_users, g::admin});
    t.add(http::method::get, "/v1/admin/users/{id}",
          {r::admin_user_get, g::admin});
    t.add(http::method::patch, "/v1/admin/users/{id}",
          {r::admin_user_patch, g::admin});
    t.add(http::method::del, "/v1/admin/users/{id}",
          {r::admin_user_delete, g::admin});
    t.add(http::method::post, "/v1/admin/users/{id}/unlock",
          {r::admin_user_unlock, g::admin});
    t.add(http::method::get, "/v1/admin/users/{id}/sessions",
          {r::admin_user_sessions, g::admin});
    t.add(http::method::del, "/v1/admin/users/{id}/sessions",
          {r::admin_user_sessions_delete, g::admin});
    t.add(http::method::del, "/v1/admin/sessions/{id}",
          {r::admin_session_delete, g::admin});
    t.add(http::method::get, "/v1/admin/audit", {r::admin_audit, g::admin});
    t.add(http::method::get, "/v1/admin/stats", {r::admin_stats, g::admin});
    t.add(http::method::get, "/v1/admin/ip-filters",
          {r::admin_ip_filters, g::admin});
    t.add(http::method::post, "/v1/admin/ip-filters",
          {r::admin_ip_filter_create, g::admin});
    t.add(http::method::get, "/v1/admin/ip-filters/{id}",
          {r::admin_ip_filter_get, g::admin});
    t.add(http::method::del, "/v1/admin/ip-filters/{id}",
          {r::admin_ip_filter_delete, g::admin});
    t.add(http::method::get, "/v1/admin/webhooks",
          {r::admin_webhooks, g::admin});
    t.add(http::method::post, "/v1/admin/webhooks",
          {r::admin_webhook_create, g::admin});
    t.add(http::method::get, "/v1/admin/webhooks/{id}",
          {r::admin_webhook_get, g::admin});
    t.add(http::method::del, "/v1/admin/webhooks/{id}",
          {r::admin_webhook_delete, g::admin});
    t.add(http::method::get, "/v1/admin/webhooks/{id}/deliveries",
          {r::admin_webhook_deliveries, g::admin});
    t.add(http::method::post, "/v1/admin/keys/rotate",
          {r::admin_keys_rotate, g::admin});
    // -- TOTP and recovery codes --
    t.add(http::method::post, "/v1/me/totp", {r::totp_enrol, g::recent});
    t.add(http::method::del, "/v1/me/totp",
          {r::totp_disable, g::recent, "totp"});
    t.add(http::method::post, "/v1/me/totp/confirm",
          {r::totp_confirm, g::recent, "totp"});
    t.add(http::method::post, "/v1/me/totp/recovery-codes",
          {r::totp_recovery_codes, g::recent, "totp"});
    t.add(http::method::post, "/v1/auth/totp/verify",
          {r::cookie_sign_in<r::totp_verify>, g::none, "totp"});
    t.add(http::method::post, "/v1/auth/recovery",
          {r::cookie_sign_in<r::recovery_sign_in>, g::none, "totp"});
    // -- passkeys --
    t.add(http::method::post, "/v1/webauthn/register/options",
          {r::webauthn_register_options, g::recent, "webauthn"});
    t.add(http::method::post, "/v1/webauthn/register/verify",
          {r::webauthn_register_verify, g::recent, "webauthn"});
    t.add(http::method::post, "/v1/webauthn/login/options",
          {r::webauthn_login_options, g::none, "webauthn"});
    t.add(http::method::post, "/v1/webauthn/login/verify",
          {r::cookie_sign_in<r::webauthn_login_verify>, g::none, "webauthn"});
    t.add(http::method::get, "/v1/me/passkeys", {r::passkeys_list, g::user});
    t.add(http::method::patch, "/v1/me/passkeys/{id}",
          {r::passkey_rename, g::user});
    t.add(http::method::del, "/v1/me/passkeys/{id}",
          {r::passkey_delete, g::user});
    // -- personal data export (issue #17) --
    t.add(http::method::get, "/v1/me/export", {r::me_export, g::recent});
    t.add(http::method::get, "/v1/admin/users/{id}/export",
          {r::admin_user_export, g::admin});
    // -- hosted pages --
    t.add(http::method::get, "/login", {r::login_page, g::none});
    // -- browser session (issue 16); sign-ins above marked cookie_sign_in
    //    answer `X-PA-Session: cookie` with the session cookie --
    t.add(http::method::get, "/v1/browser/session",
          {r::browser_session_get, g::none});
    t.add(http::method::post, "/v1/browser/token",
          {r::browser_token, g::none, "refresh"});
    t.add(http::method::post, "/v1/browser/logout",
          {r::browser_logout, g::none});
    // -- OpenID Provider (issue 16) --
    t.add(http::method::get, "/.well-known/openid-configuration",
          {r::oidc_discovery, g::none});
    t.add(http::method::get, "/oauth2/authorize",
          {r::oauth_authorize, g::none});
    t.add(http::method::post, "/oauth2/authorize/consent",
          {r::oauth_consent, g::none});
    t.add(http::method::post, "/oauth2/token",
          {r::oauth_token, g::none, "verify"});
    t.add(http::method::get, "/oauth2/userinfo", {r::oauth_userinfo, g::none});
    t.add(http::method::post, "/oauth2/userinfo", {r::oauth_userinfo, g::none});
    t.add(http::method::post, "/oauth2/revoke",
          {r::oauth_revoke, g::none, "verify"});
    t.add(http::method::get, "/oauth2/logout", {r::oauth_logout, g::none});
    t.add(http::method::post, "/v1/admin/oauth/clients",
          {r::admin_oauth_client_create, g::admin});
    t.add(http::method::get, "/v1/admin/oauth/clients",
          {r::admin_oauth_clients, g::admin});
    t.add(http::method::get, "/v1/admin/oauth/clients/{id}",
          {r::admin_oauth_client_get, g::admin});
    t.add(http::method::patch, "/v1/admin/oauth/clients/{id}",
          {r::admin_oauth_client_patch, g::admin});
    t.add(http::method::del, "/v1/admin/oauth/clients/{id}",
          {r::admin_oauth_client_delete, g::admin});
    // -- seed compatibility --
    t.add(http::method::post, "/request/magic",
          {deprecated<r::email_start>, g::none, "email_send"});
    t.add(http::method::get, "/verify/magic",
          {deprecated<r::email_link_page>, g::none});
    t.add(http::method::post, "/token/refresh",
          {deprecated<r::token_refresh>, g::none, "refresh"});
    t.add(http::method::get, "/admin/stats",
          {deprecated<r::admin_stats>, g::admin});
    return t;
  }();
  return table;
}

} // namespace authsvc
