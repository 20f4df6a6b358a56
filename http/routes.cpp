// The route table: every path the service answers, in one place. Guards and
// rate-limit classes are declared here and applied by the front actor.
#include "actors/http_front.hpp"
#include "http/email_routes.hpp"
#include "http/ops_routes.hpp"
#include "http/passkey_routes.hpp"
#include "http/session_routes.hpp"
#include "http/static_routes.hpp"

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
    t.add("GET", "/health", {r::health, g::ops});
    t.add("GET", "/liveness", {r::liveness, g::ops});
    t.add("GET", "/readiness", {r::readiness, g::ops});
    t.add("GET", "/metrics", {r::metrics, g::ops});
    t.add("GET", "/.well-known/jwks.json", {r::jwks, g::none});
    t.add("GET", "/static/{file}", {r::static_file, g::none});
    // -- email sign-in --
    t.add("POST", "/v1/auth/email/start", {r::email_start, g::none, "email_send"});
    t.add("GET", "/v1/auth/email/link", {r::email_link_page, g::none});
    t.add("POST", "/v1/auth/email/link", {r::email_link_consume, g::none, "verify"});
    t.add("POST", "/v1/auth/email/verify-code", {r::email_verify_code, g::none, "verify"});
    t.add("POST", "/v1/auth/email/exchange", {r::email_exchange, g::none, "verify"});
    t.add("POST", "/v1/auth/exchange", {r::code_exchange, g::none, "verify"});
    // -- tokens and sessions --
    t.add("POST", "/v1/token/refresh", {r::token_refresh, g::none, "refresh"});
    t.add("GET", "/v1/session", {r::session_get, g::user});
    t.add("POST", "/v1/auth/logout", {r::logout, g::user});
    t.add("GET", "/v1/me", {r::me_get, g::user});
    t.add("PATCH", "/v1/me", {r::me_patch, g::user});
    t.add("DELETE", "/v1/me", {r::me_delete, g::user});
    t.add("GET", "/v1/me/sessions", {r::me_sessions, g::user});
    t.add("DELETE", "/v1/me/sessions/{id}", {r::me_session_delete, g::user});
    // -- passkeys --
    t.add("POST", "/v1/webauthn/register/options", {r::webauthn_register_options, g::user, "webauthn"});
    t.add("POST", "/v1/webauthn/register/verify", {r::webauthn_register_verify, g::user, "webauthn"});
    t.add("POST", "/v1/webauthn/login/options", {r::webauthn_login_options, g::none, "webauthn"});
    t.add("POST", "/v1/webauthn/login/verify", {r::webauthn_login_verify, g::none, "webauthn"});
    t.add("GET", "/v1/me/passkeys", {r::passkeys_list, g::user});
    t.add("PATCH", "/v1/me/passkeys/{id}", {r::passkey_rename, g::user});
    t.add("DELETE", "/v1/me/passkeys/{id}", {r::passkey_delete, g::user});
    // -- hosted pages --
    t.add("GET", "/login", {r::login_page, g::none});
    // -- seed compatibility --
    t.add("POST", "/request/magic", {deprecated<r::email_start>, g::none, "email_send"});
    t.add("GET", "/verify/magic", {deprecated<r::email_link_page>, g::none});
    t.add("POST", "/token/refresh", {deprecated<r::token_refresh>, g::none, "refresh"});
    return t;
  }();
  return table;
}

}  // namespace authsvc
