#pragma once
// The admin API of OAuth clients (issue 16): register, list, read, change
// and delete the relying parties of the OpenID Provider. A confidential
// client's secret is answered once, at creation; only its hash is stored.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "db/oauth_store.hpp"
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/admin/oauth/clients.
void admin_oauth_client_create(const context_ptr& ctx);
/// Handles GET /v1/admin/oauth/clients?limit=&cursor=.
void admin_oauth_clients(const context_ptr& ctx);
/// Handles GET /v1/admin/oauth/clients/{id}.
void admin_oauth_client_get(const context_ptr& ctx);
/// Handles PATCH /v1/admin/oauth/clients/{id}.
void admin_oauth_client_patch(const context_ptr& ctx);
/// Handles DELETE /v1/admin/oauth/clients/{id}.
void admin_oauth_client_delete(const context_ptr& ctx);

namespace oauth_clients {

/// The client as the admin API shows it (never its secret or hash).
nlohmann::json client_json(const db::oauth_store::client_row& c);

/// Applies the fields of `body` to `c` (all of them at creation, where
/// name, redirect_uris and type are required); `errors` gets field ->
/// problem for each bad one. Shared with the CLI.
void apply_fields(const nlohmann::json& body, db::oauth_store::client_row& c,
                  bool creating, nlohmann::json& errors);

/// A new client id: "pa_" and 22 random base64url characters.
std::string new_client_id();

/// A new client secret: 256 random bits, base64url.
std::string new_client_secret();

} // namespace oauth_clients

} // namespace authsvc::http_routes
