#include "db/keys_store.hpp"

namespace authsvc::db::keys_store {

statement load(std::int64_t now) {
  return stmt("SELECT kid, private_key_enc, created_at, COALESCE(retired_at, "
              "0) AS retired_at, COALESCE(expires_at, 0) AS expires_at FROM "
              "signing_keys WHERE expires_at IS NULL OR expires_at > ? ORDER "
              "BY created_at, kid",
              {value::integer(now)});
}

std::vector<key_row> decode_keys(const rowset& rs) {
  std::vector<key_row> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    out.push_back(key_row{rs.at(i, "kid").s, rs.at(i, "private_key_enc").s,
                          rs.at(i, "created_at").i, rs.at(i, "retired_at").i,
                          rs.at(i, "expires_at").i});
  return out;
}

unit insert_key(const std::string& kid, const std::string& alg,
                const std::string& sealed_private_key,
                const std::string& public_jwk, std::int64_t now,
                std::int64_t retire_grace) {
  unit u;
  u.statements.push_back(
      stmt("UPDATE signing_keys SET retired_at = ?, expires_at = ? "
           "WHERE retired_at IS NULL",
           {value::integer(now), value::integer(now + retire_grace)}));
  u.statements.push_back(
      insert_key_only(kid, alg, sealed_private_key, public_jwk, now));
  return u;
}

statement insert_key_only(const std::string& kid, const std::string& alg,
                          const std::string& sealed_private_key,
                          const std::string& public_jwk, std::int64_t now) {
  return stmt("INSERT INTO signing_keys(kid, alg, private_key_enc, "
              "public_jwk, created_at) VALUES (?, ?, ?, ?, ?)",
              {value::text(kid), value::text(alg),
               value::blob(sealed_private_key), value::text(public_jwk),
               value::integer(now)});
}

statement live_key_of(const std::string& alg) {
  return stmt("SELECT kid FROM signing_keys WHERE alg = ? AND retired_at IS "
              "NULL LIMIT 1",
              {value::text(alg)});
}

statement rotation_lock() {
  return stmt("SELECT pg_advisory_xact_lock(8097803578635410275)");
}

statement none_signing(const std::string& alg) {
  auto s = alg.empty() ? stmt("SELECT kid FROM signing_keys WHERE retired_at "
                              "IS NULL")
                       : stmt("SELECT kid FROM signing_keys WHERE retired_at "
                              "IS NULL AND alg = ?",
                              {value::text(alg)});
  s.max_rows = 0;
  s.fail_code = "keys_exist";
  return s;
}

statement purge_expired(std::int64_t now) {
  return stmt("DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND "
              "expires_at < ?",
              {value::integer(now - 86400)});
}

} // namespace authsvc::db::keys_store
