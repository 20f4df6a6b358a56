// `passwordless-auth keys rotate`: a new signing key written directly to the
// database; the running service picks it up at its next key reload.
#include <stdexcept>

#include "actors/signing_keys.hpp"
#include "core/clock.hpp"
#include "db/keys_store.hpp"
#include "src/cli.hpp"

namespace authsvc::cli {

std::string rotate_signing_key_offline(const config::settings& cfg,
                                       const key_ring& keys) {
  auto ex = open_db(cfg);
  // Every algorithm in use rotates: the access-token key, and the RS256
  // ID-token key once an OAuth client made one (issue 16).
  bool with_id_token_key
      = !ex->query(db::keys_store::live_key_of("RS256")).empty();
  auto fresh = rotation_keys(cfg, with_id_token_key);
  const auto& key = fresh.front();
  ex->begin();
  auto r = ex->run(new_keys_unit(fresh, keys, real_clock()->unix_seconds(),
                                 cfg.tokens.access_ttl + 60));
  if (!r.ok) {
    ex->rollback();
    throw std::runtime_error("cannot store the new key: " + r.fail_code);
  }
  ex->commit();
  return key.kid();
}

} // namespace authsvc::cli
