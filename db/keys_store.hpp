#pragma once
// The signing_keys table: the JWS signing keys, sealed at rest. Plain
// functions that build db::statement / db::unit values and decode rows; the
// key set (actors/signing_keys) owns the keys in memory.
#include <cstdint>
#include <string>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db::keys_store {

/// One stored signing key as read back (the private key still sealed).
struct key_row {
  std::string kid;
  std::string private_key_enc;
  std::int64_t created_at = 0;
  std::int64_t retired_at = 0; ///< 0 = signs new tokens
  std::int64_t expires_at = 0; ///< 0 = never leaves the JWKS by time
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_row& x) {
  return f(x.kid, x.private_key_enc, x.created_at, x.retired_at, x.expires_at);
}

/// Reads the keys that have not expired at `now`, oldest first.
statement load(std::int64_t now);

/// The rows of `load`.
std::vector<key_row> decode_keys(const rowset& rs);

/// Retires the current key (it keeps verifying for `retire_grace` seconds)
/// and stores a new one, sealed, in one unit.
unit insert_key(const std::string& kid, const std::string& alg,
                const std::string& sealed_private_key,
                const std::string& public_jwk, std::int64_t now,
                std::int64_t retire_grace);

/// Stores a new key, sealed, without retiring any (the RS256 key the
/// OpenID Provider adds beside the access-token key, issue 16).
statement insert_key_only(const std::string& kid, const std::string& alg,
                          const std::string& sealed_private_key,
                          const std::string& public_jwk, std::int64_t now);

/// Reads the kid of one key of `alg` that signs (is not retired); no row
/// when there is none (a rotation renews the RS256 ID-token key only when
/// one is in use, issue 16).
statement live_key_of(const std::string& alg);

/// PostgreSQL only (several nodes, issue 14): a transaction-level advisory
/// lock, first in a unit that adds keys, so one node at a time rotates and
/// nodes starting together on an empty database make one key set.
statement rotation_lock();

/// A precondition after rotation_lock: the unit fails with "keys_exist"
/// when a key (of `alg`; empty: of any algorithm) signs already, i.e. when
/// another node made it while this one waited for the lock.
statement none_signing(const std::string& alg = {});

/// Removes keys whose verification window ended a day before `now`.
statement purge_expired(std::int64_t now);

} // namespace authsvc::db::keys_store
