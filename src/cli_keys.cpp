// `passwordless-auth keys rotate`: a new signing key written directly to the
// database; the running service picks it up at its next key reload.
#include <stdexcept>

#include "actors/signing_keys.hpp"
#include "core/clock.hpp"
#include "src/cli.hpp"

namespace authsvc::cli {

std::string rotate_signing_key_offline(const config::settings& cfg,
                                       const key_ring& keys) {
  auto ex = open_db(cfg);
  // Both algorithms rotate together (the RS256 key signs ID tokens).
  auto fresh = rotation_keys(cfg);
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
