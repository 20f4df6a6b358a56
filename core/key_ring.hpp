#pragma once
// The keys derived from the one master secret (`auth.secret_key`). Each use
// gets its own HKDF-derived key so that, for example, a code hash can never
// be replayed as a ciphertext key.
#include <memory>
#include <string>

#include "auth/encoding.hpp"
#include "core/config.hpp"

namespace authsvc {

struct key_ring {
  auth::bytes signing_keys; ///< AES key wrapping JWS private keys at rest
  auth::bytes payloads;  ///< AES key for stored payloads (mail vars, exchange)
  auth::bytes totp;      ///< AES key for TOTP secrets at rest
  auth::bytes webhooks;  ///< AES key for webhook secrets at rest
  std::string code_hmac; ///< HMAC key for one-time codes
  std::string recovery_pepper; ///< HMAC key for recovery codes
  std::string admin_pepper;    ///< HMAC key for admin API keys
  std::string
      webauthn_decoys; ///< HMAC key for decoy passkey ids of unknown addresses
  std::string oauth_clients; ///< HMAC key for OAuth client secrets (issue 16)

  /// Derives every key from `master`.
  static key_ring derive(const std::string& master);
};

/// The configured master secret, or the one kept in `secret.key` next to the
/// database (created with mode 0600 on first start, with a warning logged by
/// the caller). @throws std::runtime_error when the file cannot be written.
std::string load_or_create_master_secret(const config::settings& cfg,
                                         bool* generated);

} // namespace authsvc
