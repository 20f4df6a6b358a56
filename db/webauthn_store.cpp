#include "db/webauthn_store.hpp"

#include "db/totp_store.hpp"

namespace authsvc::db::webauthn_store {

// -- sessions --

statement purge_challenges(std::int64_t now) {
  return stmt("DELETE FROM webauthn_challenges WHERE expires_at < ?",
              {value::integer(now)});
}

unit remove_factors_since(const std::string& user_id, std::int64_t since) {
  unit u;
  u.statements.push_back(
      stmt("DELETE FROM webauthn_credentials WHERE user_id = ? AND "
           "created_at >= ? RETURNING id",
           {value::text(user_id), value::integer(since)}));
  totp_store::append_remove_since(u, user_id, since);
  return u;
}

removed_factors decode_removed_factors(const unit_result& r) {
  removed_factors out;
  if (r.results.size() < 3)
    return out;
  const auto& keys = r.results[0];
  for (std::size_t i = 0; i < keys.rows.size(); ++i)
    out.credential_ids.push_back(keys.at(i, "id").s);
  out.totp = !r.results[2].empty();
  return out;
}

} // namespace authsvc::db::webauthn_store
