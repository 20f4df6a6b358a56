#include "db/totp_store.hpp"

#include "db/lockout_store.hpp"

namespace authsvc::db::totp_store {

namespace {

using lockout_store::locked_until_sql;

totp_state decode_state(const rowset& rs) {
  totp_state t;
  t.secret_enc = rs.at(0, "secret_enc");
  t.confirmed = !rs.at(0, "confirmed_at").is_null();
  t.last_used_step = rs.at(0, "last_used_step").i;
  t.locked_until = rs.at(0, "locked_until").i;
  return t;
}

} // namespace

// -- enrolment ----------------------------------------------------------------

unit enrol(const std::string& user_id, const std::string& sealed,
           std::int64_t now) {
  unit u;
  u.statements.push_back(stmt_one(
      "INSERT INTO totp(user_id, secret_enc, confirmed_at, last_used_step, "
      "created_at) VALUES (?1, ?2, NULL, 0, ?3) ON CONFLICT(user_id) DO UPDATE "
      "SET secret_enc = excluded.secret_enc, created_at = excluded.created_at, "
      "last_used_step = 0 WHERE totp.confirmed_at IS NULL",
      {value::text(user_id), value::blob(sealed), value::integer(now)},
      "totp_already_enabled"));
  return u;
}

statement pending_of(const std::string& user_id) {
  return stmt("SELECT secret_enc, confirmed_at FROM totp WHERE user_id = ?",
              {value::text(user_id)});
}

std::optional<totp_state> decode_pending(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  return decode_state(rs);
}

statement confirm(const std::string& user_id, const value& sealed,
                  std::int64_t step, std::int64_t now) {
  return stmt_one(
      "UPDATE totp SET confirmed_at = ?1, last_used_step = ?2 "
      "WHERE user_id = ?3 AND confirmed_at IS NULL AND secret_enc = ?4",
      {value::integer(now), value::integer(step), value::text(user_id), sealed},
      "totp_not_pending");
}

// -- checks of the signed-in user's code --------------------------------------

statement current_of(const std::string& user_id, const std::string& source) {
  return stmt("SELECT secret_enc, confirmed_at, last_used_step, "
                  + locked_until_sql("?1", "totp", "?2")
                  + " AS locked_until FROM totp WHERE user_id = ?1",
              {value::text(user_id), value::text(source)});
}

std::optional<totp_state> decode_current(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  return decode_state(rs);
}

statement remove(const std::string& user_id, std::int64_t step) {
  return stmt_one(
      "DELETE FROM totp WHERE user_id = ? AND confirmed_at IS NOT NULL "
      "AND last_used_step < ?",
      {value::text(user_id), value::integer(step)}, "invalid_code");
}

statement use_step(const std::string& user_id, std::int64_t step) {
  return stmt_one("UPDATE totp SET last_used_step = ?2 WHERE user_id = ?1 "
                  "AND confirmed_at IS NOT NULL AND last_used_step < ?2",
                  {value::text(user_id), value::integer(step)}, "invalid_code");
}

// -- sign-in ------------------------------------------------------------------

statement sign_in_facts_of(const std::string& email,
                           const std::string& source) {
  return stmt("SELECT u.id, u.email, u.display_name, u.locale, u.created_at, "
              "t.secret_enc, t.confirmed_at, t.last_used_step, "
                  + locked_until_sql("u.id", "totp", "?2")
                  + " AS locked_until FROM users u LEFT JOIN totp t ON "
                    "t.user_id = u.id "
                    "WHERE u.email = ?1 AND u.disabled = 0",
              {value::text(email), value::text(source)});
}

sign_in_facts decode_sign_in_facts(const rowset& rs) {
  sign_in_facts f;
  if (rs.empty())
    return f;
  f.user = users_store::decode_user(rs);
  f.locked_until = rs.at(0, "locked_until").i;
  if (!rs.at(0, "confirmed_at").is_null())
    f.totp = decode_state(rs);
  return f;
}

statement use_step_unless_locked(const std::string& user_id, std::int64_t step,
                                 const std::string& source, std::int64_t now) {
  return stmt_one(
      "UPDATE totp SET last_used_step = ?1 WHERE user_id = ?2 "
      "AND confirmed_at IS NOT NULL AND last_used_step < ?1 AND NOT "
      "EXISTS "
      "(SELECT 1 FROM failed_attempts WHERE user_id = ?2 AND method = "
      "'totp' AND source = ?4 "
      "AND locked_until > ?3)",
      {value::integer(step), value::text(user_id), value::integer(now),
       value::text(source)},
      "invalid_code");
}

// -- recovery codes -----------------------------------------------------------

void replace_recovery_codes(unit& u, const std::string& user_id,
                            const std::vector<std::string>& hashes,
                            std::int64_t now) {
  u.statements.push_back(remove_recovery_codes(user_id));
  for (const auto& h : hashes)
    u.statements.push_back(
        stmt("INSERT INTO recovery_codes(code_hash, user_id, created_at) "
             "VALUES (?, ?, ?)",
             {value::text(h), value::text(user_id), value::integer(now)}));
}

statement remove_recovery_codes(const std::string& user_id) {
  return stmt("DELETE FROM recovery_codes WHERE user_id = ?",
              {value::text(user_id)});
}

statement recovery_facts_of(const std::string& email,
                            const std::string& code_hash,
                            const std::string& source) {
  // One row whether or not the address has an account: the lockout and
  // recovery-code lookups run for an unknown address too (with no id),
  // so the read takes as long either way (docs/security.md, equal timing).
  return stmt(
      "SELECT u.id, u.email, u.display_name, u.locale, u.created_at, "
          + locked_until_sql("u.id", "recovery_code", "?3")
          + " AS locked_until, EXISTS (SELECT 1 FROM recovery_codes "
            "WHERE code_hash = ?2 AND user_id = u.id AND used_at IS "
            "NULL) AS code_live FROM (SELECT ?1 AS email) AS q LEFT "
            "JOIN users u ON u.email = q.email AND u.disabled = 0",
      {value::text(email), value::text(code_hash), value::text(source)});
}

recovery_facts decode_recovery_facts(const rowset& rs) {
  recovery_facts f;
  if (rs.empty() || rs.at(0, "id").is_null())
    return f;
  f.user = users_store::decode_user(rs);
  f.locked_until = rs.at(0, "locked_until").i;
  f.code_live = rs.at(0, "code_live").i != 0;
  return f;
}

statement burn_recovery_code(const std::string& user_id,
                             const std::string& code_hash, std::int64_t now) {
  return stmt_one(
      "UPDATE recovery_codes SET used_at = ?1 WHERE code_hash = ?2 "
      "AND user_id = ?3 AND used_at IS NULL",
      {value::integer(now), value::text(code_hash), value::text(user_id)},
      "invalid_code");
}

// -- sessions --

void append_remove_since(unit& u, const std::string& user_id,
                         std::int64_t since) {
  auto uid = value::text(user_id);
  auto t = value::integer(since);
  u.statements.push_back(stmt(
      "DELETE FROM recovery_codes WHERE user_id = ?1 AND EXISTS (SELECT 1 "
      "FROM totp WHERE user_id = ?1 AND COALESCE(confirmed_at, created_at) "
      ">= ?2)",
      {uid, t}));
  u.statements.push_back(
      stmt("DELETE FROM totp WHERE user_id = ? AND "
           "COALESCE(confirmed_at, created_at) >= ? RETURNING user_id",
           {uid, t}));
}

} // namespace authsvc::db::totp_store
