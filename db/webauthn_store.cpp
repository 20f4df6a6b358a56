#include "db/webauthn_store.hpp"

#include "db/totp_store.hpp"

#include "db/lockout_store.hpp"

namespace authsvc::db::webauthn_store {

namespace {

constexpr const char* passkey_columns
    = "id, name, created_at, last_used_at, backed_up, transports";

} // namespace

passkey_record decode_passkey(const rowset& rs, std::size_t row) {
  passkey_record p;
  p.id = rs.at(row, "id").s;
  p.name = rs.at(row, "name").s;
  p.created_at = rs.at(row, "created_at").i;
  const auto& last = rs.at(row, "last_used_at");
  if (!last.is_null())
    p.last_used_at = last.i;
  p.backed_up = rs.at(row, "backed_up").i != 0;
  p.transports = rs.at(row, "transports").s;
  return p;
}

// -- challenges ---------------------------------------------------------------

unit store_challenge(const new_challenge& c, std::int64_t now,
                     std::int64_t purge_before) {
  unit u;
  u.statements.push_back(
      stmt("DELETE FROM webauthn_challenges WHERE expires_at < ?",
           {value::integer(purge_before)}));
  u.statements.push_back(stmt(
      "INSERT INTO webauthn_challenges(id, challenge, purpose, user_id, "
      "user_verification, discoverable, created_at, expires_at) "
      "VALUES (?,?,?,?,?,?,?,?)",
      {value::text(c.id), value::text(c.challenge), value::text(c.purpose),
       c.user_id.empty() ? value::null() : value::text(c.user_id),
       value::text(c.user_verification),
       value::integer(c.discoverable ? 1 : 0), value::integer(now),
       value::integer(c.expires_at)}));
  return u;
}

unit consume_challenge(const std::string& id, const std::string& purpose) {
  unit u;
  u.statements.push_back(stmt("DELETE FROM webauthn_challenges WHERE id = "
                              "? AND purpose = ? RETURNING id",
                              {value::text(id), value::text(purpose)}));
  return u;
}

// -- registration -------------------------------------------------------------

statement credentials_of(const std::string& user_id) {
  return stmt("SELECT id, transports FROM webauthn_credentials "
              "WHERE user_id = ? ORDER BY created_at, id",
              {value::text(user_id)});
}

std::vector<credential_ref> decode_credentials(const rowset& rs) {
  std::vector<credential_ref> out;
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    out.push_back({rs.at(i, "id").s, rs.at(i, "transports").s});
  return out;
}

statement registration_facts_of(const std::string& challenge_id,
                                const std::string& user_id) {
  return stmt(
      "SELECT challenge, user_id, user_verification, expires_at, "
      "(SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?2) AS "
      "passkeys "
      "FROM webauthn_challenges WHERE id = ?1 AND purpose = 'register'",
      {value::text(challenge_id), value::text(user_id)});
}

std::optional<registration_facts> decode_registration_facts(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  registration_facts f;
  f.challenge = rs.at(0, "challenge").s;
  f.user_id = rs.at(0, "user_id").s;
  f.user_verification = rs.at(0, "user_verification").s;
  f.expires_at = rs.at(0, "expires_at").i;
  f.passkeys = rs.at(0, "passkeys").i;
  return f;
}

unit register_credential(const std::string& challenge_id,
                         const new_credential& c, std::int64_t max_passkeys) {
  unit u;
  u.statements.push_back(stmt_one("DELETE FROM webauthn_challenges WHERE id = ? "
                                  "AND purpose = 'register' "
                                  "AND user_id = ? RETURNING id",
                                  {value::text(challenge_id),
                                   value::text(c.user_id)},
                                  "challenge_not_found"));
  u.statements.push_back(
      stmt_one("SELECT 1 AS fresh WHERE NOT EXISTS "
               "(SELECT 1 FROM webauthn_credentials WHERE id = ?)",
               {value::text(c.id)}, "credential_already_registered"));
  u.statements.push_back(stmt_one(
      "INSERT INTO webauthn_credentials(id, user_id, public_key, "
      "alg, "
      "sign_count, transports, aaguid, fmt, backup_eligible, "
      "backed_up, "
      "user_verified, name, created_at) "
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
      "?13 "
      "WHERE (SELECT COUNT(*) FROM webauthn_credentials WHERE "
      "user_id = ?2) < ?14 "
      "RETURNING id, name, created_at, last_used_at, backed_up, "
      "transports",
      {value::text(c.id), value::text(c.user_id), value::blob(c.public_key),
       value::integer(c.alg), value::integer(c.sign_count),
       value::text(c.transports), value::text(c.aaguid), value::text(c.fmt),
       value::integer(c.backup_eligible ? 1 : 0),
       value::integer(c.backed_up ? 1 : 0),
       value::integer(c.user_verified ? 1 : 0), value::text(c.name),
       value::integer(c.created_at), value::integer(max_passkeys)},
      "passkey_limit_reached"));
  return u;
}

passkey_record decode_registered(const unit_result& r) {
  return decode_passkey(r.results.at(2));
}

// -- sign-in ------------------------------------------------------------------

statement login_credentials_of(const std::string& email) {
  return stmt(
      "SELECT u.id AS user_id, c.id AS credential_id FROM users u "
      "LEFT JOIN webauthn_credentials c ON c.user_id = u.id "
      "WHERE u.email = ? AND u.disabled = 0 ORDER BY c.created_at, c.id",
      {value::text(email)});
}

login_credentials decode_login_credentials(const rowset& rs) {
  login_credentials out;
  out.user_id = rs.empty() ? std::string{} : rs.at(0, "user_id").s;
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    if (!rs.at(i, "credential_id").is_null())
      out.credential_ids.push_back(rs.at(i, "credential_id").s);
  return out;
}

statement login_facts_of(const std::string& challenge_id,
                         const std::string& credential_id,
                         const std::string& source) {
  // Two locks apply, both of this source only: the credential owner's
  // (failures against their credential from here), and the source's own
  // (failures that named no usable credential).
  auto locked_until = lockout_store::locked_until_sql("cr.user_id", "webauthn", "?3");
  auto source_locked_until = lockout_store::locked_until_sql("''", "webauthn", "?3");
  return stmt("SELECT ch.challenge, ch.user_id AS bound_user, ch.discoverable, "
              "ch.user_verification, ch.expires_at, cr.id AS credential_id, "
              "cr.user_id, cr.public_key, cr.sign_count, u.disabled, "
                  + locked_until + " AS locked_until, " + source_locked_until
                  + " AS source_locked_until "
                    "FROM webauthn_challenges ch "
                    "LEFT JOIN webauthn_credentials cr ON cr.id = ?2 "
                    "LEFT JOIN users u ON u.id = cr.user_id "
                    "WHERE ch.id = ?1 AND ch.purpose = 'login'",
              {value::text(challenge_id), value::text(credential_id),
               value::text(source)});
}

std::optional<login_facts> decode_login_facts(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  login_facts f;
  f.challenge = rs.at(0, "challenge").s;
  f.bound_user = rs.at(0, "bound_user").s;
  f.discoverable = rs.at(0, "discoverable").i != 0;
  f.user_verification = rs.at(0, "user_verification").s;
  f.expires_at = rs.at(0, "expires_at").i;
  f.credential_known = !rs.at(0, "credential_id").is_null();
  f.user_id = rs.at(0, "user_id").s;
  f.public_key = rs.at(0, "public_key").s;
  f.sign_count = rs.at(0, "sign_count").i;
  f.user_disabled = rs.at(0, "disabled").i != 0;
  f.locked_until = rs.at(0, "locked_until").i;
  f.source_locked_until = rs.at(0, "source_locked_until").i;
  return f;
}

unit use_credential(const std::string& challenge_id,
                    const std::string& credential_id,
                    const std::string& user_id, std::int64_t sign_count,
                    bool backed_up, std::int64_t now) {
  unit u;
  u.statements.push_back(stmt_one("DELETE FROM webauthn_challenges WHERE id = ? "
                                  "AND purpose = 'login' "
                                  "RETURNING id",
                                  {value::text(challenge_id)},
                                  "challenge_not_found"));
  u.statements.push_back(stmt_one("UPDATE webauthn_credentials SET sign_count = "
                                  "?, last_used_at = ?, "
                                  "backed_up = ? WHERE id = ? AND user_id = ?",
                                  {value::integer(sign_count),
                                   value::integer(now),
                                   value::integer(backed_up ? 1 : 0),
                                   value::text(credential_id),
                                   value::text(user_id)},
                                  "unknown_credential"));
  u.statements.push_back(stmt_one("SELECT id, email, display_name, locale, "
                                  "created_at FROM users "
                                  "WHERE id = ? AND disabled = 0",
                                  {value::text(user_id)},
                                  "unknown_credential"));
  return u;
}

user_record decode_signed_in_user(const unit_result& r) {
  return users_store::decode_user(r.results.at(2));
}

// -- the user's passkeys ------------------------------------------------------

statement passkeys_of(const std::string& user_id) {
  return stmt(std::string("SELECT ") + passkey_columns
                  + " FROM webauthn_credentials WHERE user_id = ? "
                    "ORDER BY created_at, id",
              {value::text(user_id)});
}

std::vector<passkey_record> decode_passkeys(const rowset& rs) {
  std::vector<passkey_record> out;
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    out.push_back(decode_passkey(rs, i));
  return out;
}

unit rename_passkey(const std::string& id, const std::string& user_id,
                    const std::string& name) {
  unit u;
  // Only the owner's: another user's id matches no row.
  u.statements.push_back(stmt_one(
      std::string("UPDATE webauthn_credentials SET name = ? WHERE id = ? AND "
                  "user_id = ? RETURNING ")
          + passkey_columns,
      {value::text(name), value::text(id), value::text(user_id)},
      "not_found"));
  return u;
}

passkey_record decode_renamed(const unit_result& r) {
  return decode_passkey(r.results.at(0));
}

unit delete_passkey(const std::string& id, const std::string& user_id) {
  unit u;
  u.statements.push_back(stmt_one(
      "DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ? RETURNING "
      "id",
      {value::text(id), value::text(user_id)}, "not_found"));
  return u;
}

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
