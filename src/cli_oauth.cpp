// `passwordless-auth oauth create-client`: registers an OAuth client of the
// OpenID Provider (issue 16) directly in the database file, with the same
// checks as POST /v1/admin/oauth/clients. Prints the client as JSON; a
// confidential client's secret is in it this once (stored as a keyed hash).
#include <stdexcept>

#include "actors/signing_keys.hpp"
#include "core/clock.hpp"
#include "db/keys_store.hpp"
#include "db/oauth_store.hpp"
#include "front/oauth_admin_routes.hpp"
#include "front/oauth_client_auth.hpp"
#include "src/cli.hpp"

namespace authsvc::cli {

nlohmann::json create_oauth_client_offline(const config::settings& cfg,
                                           const key_ring& keys,
                                           const nlohmann::json& fields) {
  namespace oc = http_routes::oauth_clients;
  db::oauth_store::client_row c;
  nlohmann::json errors = nlohmann::json::object();
  oc::apply_fields(fields, c, true, errors);
  if (!errors.empty())
    throw std::invalid_argument(errors.dump());
  c.id = oc::new_client_id();
  c.created_at = c.updated_at = real_clock()->unix_seconds();
  std::string secret;
  if (c.type == "confidential") {
    secret = oc::new_client_secret();
    c.secret_hash = http_routes::client_secret_hash(keys, secret);
  }
  auto ex = open_db(cfg);
  db::unit u;
  u.statements.push_back(db::oauth_store::insert_client(c));
  // The first client brings the RS256 ID-token key (issue 16), in the same
  // transaction; a running service picks it up at its next key reload.
  if (ex->query(db::keys_store::live_key_of("RS256")).empty()) {
    auto key = auth::signing_key::generate(auth::jws_alg::rs256);
    for (auto& s : add_key_unit(key, keys, c.created_at).statements)
      u.statements.push_back(std::move(s));
  }
  ex->begin();
  auto r = ex->run(u);
  if (!r.ok) {
    ex->rollback();
    throw std::runtime_error("cannot store the client: " + r.fail_code);
  }
  ex->commit();
  auto out = oc::client_json(c);
  if (!secret.empty())
    out["client_secret"] = secret;
  return out;
}

} // namespace authsvc::cli
