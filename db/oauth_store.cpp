#include "db/oauth_store.hpp"

#include <nlohmann/json.hpp>

#include "db/decode.hpp"

namespace authsvc::db::oauth_store {

namespace {

std::string json_list(const std::vector<std::string>& xs) {
  return nlohmann::json(xs).dump();
}

/// A stored JSON array of strings; anything else reads as empty (the
/// service wrote these columns itself).
std::vector<std::string> read_list(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array())
    return out;
  for (const auto& x : j)
    if (x.is_string())
      out.push_back(x.get<std::string>());
  return out;
}

constexpr const char* client_columns
    = "id, name, type, COALESCE(secret_hash, '') AS secret_hash, "
      "redirect_uris, post_logout_redirect_uris, first_party, "
      "id_token_signed_response_alg, created_at, updated_at, disabled";

client_row client_at(const rowset& rs, std::size_t i) {
  client_row c;
  c.id = rs.at(i, "id").s;
  c.name = rs.at(i, "name").s;
  c.type = rs.at(i, "type").s;
  c.secret_hash = rs.at(i, "secret_hash").s;
  c.redirect_uris = read_list(rs.at(i, "redirect_uris").s);
  c.post_logout_redirect_uris
      = read_list(rs.at(i, "post_logout_redirect_uris").s);
  c.first_party = rs.at(i, "first_party").i != 0;
  c.id_token_alg = rs.at(i, "id_token_signed_response_alg").s;
  c.created_at = rs.at(i, "created_at").i;
  c.updated_at = rs.at(i, "updated_at").i;
  c.disabled = rs.at(i, "disabled").i != 0;
  return c;
}

} // namespace

// -- clients ------------------------------------------------------------------

statement insert_client(const client_row& c) {
  return stmt(
      "INSERT INTO oauth_clients(id, name, type, secret_hash, redirect_uris, "
      "post_logout_redirect_uris, first_party, id_token_signed_response_alg, "
      "created_at, updated_at, disabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?)",
      {value::text(c.id), value::text(c.name), value::text(c.type),
       text_or_null(c.secret_hash), value::text(json_list(c.redirect_uris)),
       value::text(json_list(c.post_logout_redirect_uris)),
       value::integer(c.first_party ? 1 : 0), value::text(c.id_token_alg),
       value::integer(c.created_at), value::integer(c.updated_at),
       value::integer(c.disabled ? 1 : 0)});
}

statement get_client(const std::string& id) {
  return stmt(std::string("SELECT ") + client_columns
                  + " FROM oauth_clients WHERE id = ? AND deleted_at IS NULL",
              {value::text(id)});
}

std::optional<client_row> decode_client(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  return client_at(rs, 0);
}

statement clients_page(std::int64_t before_time, const std::string& before_id,
                       std::int64_t limit) {
  return stmt(std::string("SELECT ") + client_columns
                  + " FROM oauth_clients WHERE deleted_at IS NULL AND "
                    "(created_at < ?1 OR (created_at = ?1 AND id < ?2)) "
                    "ORDER BY created_at DESC, id DESC LIMIT ?3",
              {value::integer(before_time), value::text(before_id),
               value::integer(limit)});
}

std::vector<client_row> decode_clients(const rowset& rs) {
  return decode_rows(rs, client_at);
}

statement any_client() {
  return stmt("SELECT id FROM oauth_clients LIMIT 1", {});
}

unit update_client(const client_row& c) {
  unit u;
  u.statements.push_back(
      stmt_one("UPDATE oauth_clients SET name = ?, redirect_uris = ?, "
               "post_logout_redirect_uris = ?, first_party = ?, "
               "id_token_signed_response_alg = ?, disabled = ?, updated_at = ? "
               "WHERE id = ? AND deleted_at IS NULL",
               {value::text(c.name), value::text(json_list(c.redirect_uris)),
                value::text(json_list(c.post_logout_redirect_uris)),
                value::integer(c.first_party ? 1 : 0),
                value::text(c.id_token_alg), value::integer(c.disabled ? 1 : 0),
                value::integer(c.updated_at), value::text(c.id)},
               "not_found"));
  u.statements.push_back(get_client(c.id));
  return u;
}

unit delete_client(const std::string& id, std::int64_t now) {
  unit u;
  u.statements.push_back(stmt_one(
      "UPDATE oauth_clients SET deleted_at = ?, disabled = 1, secret_hash = "
      "NULL, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
      {value::integer(now), value::integer(now), value::text(id)},
      "not_found"));
  u.statements.push_back(stmt("DELETE FROM oauth_consents WHERE client_id = ?",
                              {value::text(id)}));
  u.statements.push_back(
      stmt("DELETE FROM oauth_codes WHERE client_id = ? AND used_at IS NULL",
           {value::text(id)}));
  return u;
}

// -- authorization codes ------------------------------------------------------

statement insert_code(const code_row& c) {
  return stmt(
      "INSERT INTO oauth_codes(code_hash, client_id, user_id, "
      "browser_session_id, redirect_uri, scope, nonce, code_challenge, "
      "auth_time, amr, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?, ?)",
      {value::text(c.code_hash), value::text(c.client_id),
       value::text(c.user_id), text_or_null(c.browser_session_id),
       value::text(c.redirect_uri), value::text(c.scope), text_or_null(c.nonce),
       text_or_null(c.code_challenge), value::integer(c.auth_time),
       value::text(json_list(c.amr)), value::integer(c.created_at),
       value::integer(c.expires_at)});
}

statement consume_code(const std::string& code_hash, std::int64_t now) {
  // One statement counts the use and reads the row: of two exchanges of
  // one code, exactly one sees uses = 1.
  return stmt(
      "UPDATE oauth_codes SET used_at = COALESCE(used_at, ?1), uses = uses + "
      "1 WHERE code_hash = ?2 RETURNING code_hash, client_id, user_id, "
      "COALESCE(browser_session_id, '') AS browser_session_id, redirect_uri, "
      "scope, COALESCE(nonce, '') AS nonce, COALESCE(code_challenge, '') AS "
      "code_challenge, auth_time, amr, created_at, expires_at, uses, "
      "COALESCE(issued_session_id, '') AS issued_session_id",
      {value::integer(now), value::text(code_hash)});
}

std::optional<code_row> decode_code(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  code_row c;
  c.code_hash = rs.at(0, "code_hash").s;
  c.client_id = rs.at(0, "client_id").s;
  c.user_id = rs.at(0, "user_id").s;
  c.browser_session_id = rs.at(0, "browser_session_id").s;
  c.redirect_uri = rs.at(0, "redirect_uri").s;
  c.scope = rs.at(0, "scope").s;
  c.nonce = rs.at(0, "nonce").s;
  c.code_challenge = rs.at(0, "code_challenge").s;
  c.auth_time = rs.at(0, "auth_time").i;
  c.amr = read_list(rs.at(0, "amr").s);
  c.created_at = rs.at(0, "created_at").i;
  c.expires_at = rs.at(0, "expires_at").i;
  c.replayed = rs.at(0, "uses").i > 1;
  c.issued_session_id = rs.at(0, "issued_session_id").s;
  return c;
}

statement set_issued_session(const std::string& code_hash,
                             const std::string& session_id) {
  return stmt("UPDATE oauth_codes SET issued_session_id = ? WHERE code_hash "
              "= ?",
              {value::text(session_id), value::text(code_hash)});
}

statement purge_codes(std::int64_t now) {
  return stmt("DELETE FROM oauth_codes WHERE expires_at < ?",
              {value::integer(now - 86400)});
}

// -- consents -----------------------------------------------------------------

statement get_consent(const std::string& user_id,
                      const std::string& client_id) {
  return stmt("SELECT scope FROM oauth_consents WHERE user_id = ? AND "
              "client_id = ?",
              {value::text(user_id), value::text(client_id)});
}

std::optional<std::string> decode_consent(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  return rs.at(0, "scope").s;
}

statement save_consent(const std::string& user_id, const std::string& client_id,
                       const std::string& scope, std::int64_t now) {
  return stmt("INSERT INTO oauth_consents(user_id, client_id, scope, "
              "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4) "
              "ON CONFLICT(user_id, client_id) DO UPDATE SET scope = ?3, "
              "updated_at = ?4",
              {value::text(user_id), value::text(client_id), value::text(scope),
               value::integer(now)});
}

} // namespace authsvc::db::oauth_store
