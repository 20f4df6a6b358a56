#pragma once
// The signing keys in memory: which key signs, which keys still verify, the
// JWKS document, and the unit that stores a new key. A plain object (no CAF)
// owned by the session actor, and used by the offline `keys rotate` command.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "auth/signing_key.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "db/keys_store.hpp"

namespace authsvc {

struct stored_key {
  auth::signing_key key;
  std::int64_t created_at = 0;
  std::int64_t retired_at = 0; ///< 0 = signs new tokens
  std::int64_t expires_at = 0; ///< 0 = never leaves the JWKS by time
};

/// The configured token algorithm (tokens.algorithm, ES256 by default).
auth::jws_alg configured_alg(const config::settings& cfg);

/// The unit that stores `key` (sealed with the key ring) and retires the
/// current key, which keeps verifying for `retire_grace` seconds.
db::unit new_key_unit(const auth::signing_key& key, const key_ring& keys,
                      std::int64_t now, std::int64_t retire_grace);

/// The keys one rotation (or a first start) creates: one of the configured
/// algorithm and, when `with_id_token_key`, an RS256 key beside it (OIDC
/// Discovery requires RS256 for ID tokens) unless the configured one is
/// RS256 already. The first is the access-token key. The RS256 key exists
/// only once an OAuth client was registered (issue 16): generating an
/// RSA-2048 key costs ~100 ms, which every start would pay otherwise.
std::vector<auth::signing_key> rotation_keys(const config::settings& cfg,
                                             bool with_id_token_key);

/// The unit of a rotation: retires every current key (each keeps verifying
/// for `retire_grace` seconds) and stores `keys`, sealed.
db::unit new_keys_unit(const std::vector<auth::signing_key>& keys,
                       const key_ring& ring, std::int64_t now,
                       std::int64_t retire_grace);

/// The unit that stores `key` beside the current ones, retiring none (the
/// RS256 key added to a key set from before issue 16).
db::unit add_key_unit(const auth::signing_key& key, const key_ring& ring,
                      std::int64_t now);

class signing_key_set {
public:
  /// "Whenever": the default time of signing(), for owners that never date
  /// keys in the future (the offline `keys rotate` command).
  static constexpr std::int64_t max_time
      = std::numeric_limits<std::int64_t>::max();

  /// The algorithm of access tokens (tokens.algorithm); set by the owner.
  void set_primary(auth::jws_alg alg) { primary_ = alg; }

  /// The key that signs new access tokens at `now`: the newest signing one
  /// of the primary algorithm (else of any algorithm: a key from before a
  /// change of tokens.algorithm signs until the next rotation), or null.
  /// A key signs from its created_at until its retired_at (0 = not
  /// retired): with several nodes a rotation dates both in the future, so
  /// every node has the new key in its JWKS before it signs (issue 14).
  const stored_key* signing(std::int64_t now = max_time) const;

  /// The newest key of `alg` that signs at `now` (what signs ID tokens of a
  /// client asking for that algorithm), or null.
  const stored_key* signing(auth::jws_alg alg,
                            std::int64_t now = max_time) const;

  /// The key `kid` while it verifies at `now`, or null.
  const auth::signing_key* find(std::string_view kid, std::int64_t now) const;

  /// Merges stored rows: new keys are opened with `ring` and added (rows
  /// that cannot be opened are logged and skipped), known ones get their
  /// retirement dates.
  void merge(const std::vector<db::keys_store::key_row>& rows,
             const key_ring& ring);

  /// The JWKS document (JSON text) of the keys that verify at `now`.
  std::string jwks(std::int64_t now) const;

  std::size_t size() const { return keys_.size(); }

private:
  std::vector<stored_key> keys_; ///< oldest first
  auth::jws_alg primary_ = auth::jws_alg::es256;
};

} // namespace authsvc
