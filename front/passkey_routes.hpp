#pragma once
// Passkeys (WebAuthn): the registration and sign-in ceremonies on top of the
// pure verifier in auth/webauthn, and the signed-in user's passkey list.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/webauthn/register/options: a single-use registration
/// challenge for the signed-in user, with their passkeys excluded.
void webauthn_register_options(const context_ptr& ctx);

/// Handles POST /v1/webauthn/register/verify: verifies the attestation,
/// stores the passkey and queues the "passkey_added" mail in one unit.
void webauthn_register_verify(const context_ptr& ctx);

/// Handles POST /v1/webauthn/login/options: a login challenge, bound to an
/// address's passkeys (decoys for unknown addresses) or usernameless.
void webauthn_login_options(const context_ptr& ctx);

/// Handles POST /v1/webauthn/login/verify: verifies the assertion and opens
/// a session with amr ["webauthn"].
void webauthn_login_verify(const context_ptr& ctx);

/// Handles GET /v1/me/passkeys.
void passkeys_list(const context_ptr& ctx);

/// Handles PATCH /v1/me/passkeys/{id}: renames one of the user's passkeys.
void passkey_rename(const context_ptr& ctx);

/// Handles DELETE /v1/me/passkeys/{id}.
void passkey_delete(const context_ptr& ctx);

} // namespace authsvc::http_routes
