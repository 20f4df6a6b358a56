#include "actors/signing_keys.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "auth/secret_box.hpp"
#include "core/log.hpp"

namespace authsvc {

auth::jws_alg configured_alg(const config::settings& cfg) {
  return auth::parse_jws_alg(cfg.tokens.algorithm)
      .value_or(auth::jws_alg::es256);
}

db::unit new_key_unit(const auth::signing_key& key, const key_ring& keys,
                      std::int64_t now, std::int64_t retire_grace) {
  auto sealed = auth::secret_box::seal(keys.signing_keys, key.to_pkcs8_der(),
                                       key.kid());
  return db::keys_store::insert_key(
      key.kid(), std::string(auth::to_string(key.alg())),
      auth::to_string(sealed), key.public_jwk().dump(), now, retire_grace);
}

std::vector<auth::signing_key> rotation_keys(const config::settings& cfg,
                                             bool with_id_token_key) {
  std::vector<auth::signing_key> out;
  out.push_back(auth::signing_key::generate(configured_alg(cfg)));
  if (with_id_token_key && out.front().alg() != auth::jws_alg::rs256)
    out.push_back(auth::signing_key::generate(auth::jws_alg::rs256));
  return out;
}

db::unit new_keys_unit(const std::vector<auth::signing_key>& keys,
                       const key_ring& ring, std::int64_t now,
                       std::int64_t retire_grace) {
  db::unit u;
  for (const auto& key : keys) {
    auto part = new_key_unit(key, ring, now, retire_grace);
    // The first part retires the current keys; the keys stored after it
    // must not retire each other, so later parts keep only their insert.
    if (!u.statements.empty())
      part.statements.erase(part.statements.begin());
    for (auto& s : part.statements)
      u.statements.push_back(std::move(s));
  }
  return u;
}

db::unit add_key_unit(const auth::signing_key& key, const key_ring& ring,
                      std::int64_t now) {
  auto sealed = auth::secret_box::seal(ring.signing_keys, key.to_pkcs8_der(),
                                       key.kid());
  db::unit u;
  u.statements.push_back(db::keys_store::insert_key_only(
      key.kid(), std::string(auth::to_string(key.alg())),
      auth::to_string(sealed), key.public_jwk().dump(), now));
  return u;
}

namespace {

bool signs_at(const stored_key& k, std::int64_t now) {
  bool started = now == signing_key_set::max_time || k.created_at <= now;
  return started && (k.retired_at == 0 || k.retired_at > now);
}

} // namespace

const stored_key* signing_key_set::signing(std::int64_t now) const {
  if (auto k = signing(primary_, now))
    return k;
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it)
    if (signs_at(*it, now))
      return &*it;
  return nullptr;
}

const stored_key* signing_key_set::signing(auth::jws_alg alg,
                                           std::int64_t now) const {
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it)
    if (signs_at(*it, now) && it->key.alg() == alg)
      return &*it;
  return nullptr;
}

const auth::signing_key* signing_key_set::find(std::string_view kid,
                                               std::int64_t now) const {
  for (const auto& k : keys_)
    if (k.key.kid() == kid && (k.expires_at == 0 || k.expires_at > now))
      return &k.key;
  return nullptr;
}

void signing_key_set::merge(const std::vector<db::keys_store::key_row>& rows,
                            const key_ring& ring) {
  for (const auto& row : rows) {
    const auto& kid = row.kid;
    auto it
        = std::find_if(keys_.begin(), keys_.end(),
                       [&](const stored_key& k) { return k.key.kid() == kid; });
    if (it != keys_.end()) {
      it->retired_at = row.retired_at;
      it->expires_at = row.expires_at;
      continue;
    }
    auto der = auth::secret_box::open(ring.signing_keys,
                                      auth::to_bytes(row.private_key_enc), kid);
    if (!der) {
      log::error("sessions", "signing-key-undecryptable",
                 {{"kid", kid},
                  {"hint", "auth.secret_key differs from the one that "
                           "stored this key"}});
      continue;
    }
    auto key = auth::signing_key::from_pkcs8_der(*der);
    if (!key) {
      log::error("sessions", "signing-key-unreadable", {{"kid", kid}});
      continue;
    }
    keys_.push_back(stored_key{std::move(*key), row.created_at, row.retired_at,
                               row.expires_at});
  }
  std::stable_sort(keys_.begin(), keys_.end(),
                   [](const stored_key& a, const stored_key& b) {
                     return a.created_at < b.created_at;
                   });
}

std::string signing_key_set::jwks(std::int64_t now) const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : keys_)
    if (k.expires_at == 0 || k.expires_at > now)
      keys.push_back(k.key.public_jwk());
  return nlohmann::json{{"keys", keys}}.dump();
}

} // namespace authsvc
