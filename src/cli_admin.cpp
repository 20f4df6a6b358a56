// `passwordless-auth admin create-key`: an admin API key, printed once and
// stored as its HMAC.
#include <stdexcept>

#include "auth/crypto.hpp"
#include "auth/ids.hpp"
#include "db/admin_keys_store.hpp"
#include "src/cli.hpp"

namespace authsvc::cli {

std::pair<std::string, std::string>
create_admin_key(const config::settings& cfg, const std::string& name) {
  if (name.empty() || name.size() > 100)
    throw std::runtime_error("--name must be 1 to 100 characters");
  auto keys = key_ring::derive(load_or_create_master_secret(cfg, nullptr));
  auto key = "pa_admin_" + auth::random_token(32);
  auto id = auth::uuid_v4();
  auto ex = open_db(cfg);
  ex->begin();
  ex->query(db::admin_keys_store::insert_key(
      id, name, auth::hex_encode(auth::hmac_sha256(keys.admin_pepper, key))));
  ex->commit();
  return {id, key};
}

} // namespace authsvc::cli
