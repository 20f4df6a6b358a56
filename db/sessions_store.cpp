#include "db/sessions_store.hpp"

#include <nlohmann/json.hpp>

namespace authsvc::db::sessions_store {

namespace {

std::vector<std::string> amr_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string())
        out.push_back(x.get<std::string>());
  return out;
}

} // namespace

std::string amr_json(const std::vector<std::string>& amr) {
  return nlohmann::json(amr).dump();
}

// -- reads --------------------------------------------------------------------

namespace {

/// The live sessions (with their live refresh token and user) matching
/// `filter` (an extra condition on s, with its parameters after the two
/// times).
statement live_sessions(std::int64_t now, const std::string& filter,
                        std::vector<value> extra) {
  std::vector<value> params{value::integer(now), value::integer(now)};
  for (auto& v : extra)
    params.push_back(std::move(v));
  return stmt("SELECT s.id, s.user_id, s.amr, s.ip, s.user_agent, "
              "s.created_at, s.last_seen_at, s.expires_at, "
              "CASE WHEN s.auth_time > 0 THEN s.auth_time ELSE "
              "s.created_at END AS auth_time, "
              "s.absolute_expires_at, r.token_hash, COALESCE(s.client_id, "
              "'') AS client_id, COALESCE(s.scope, '') AS scope, u.email, "
              "u.display_name, u.locale, u.created_at AS "
              "user_created_at, b.secret_hash AS browser_hash "
              "FROM sessions s JOIN refresh_tokens r "
              "ON r.session_id = s.id AND r.replaced_at IS NULL "
              "JOIN users u ON u.id = s.user_id AND u.disabled = 0 "
              "LEFT JOIN browser_sessions b ON b.session_id = s.id "
              "WHERE s.revoked_at IS NULL AND s.expires_at > ? "
              "AND s.absolute_expires_at > ?"
                  + filter,
              std::move(params));
}

} // namespace

statement load_live(std::int64_t now) {
  return live_sessions(now, "", {});
}

statement load_one(const std::string& session_id, std::int64_t now) {
  return live_sessions(now, " AND s.id = ?", {value::text(session_id)});
}

statement load_user(const std::string& user_id, std::int64_t now) {
  return live_sessions(now, " AND s.user_id = ?", {value::text(user_id)});
}

std::vector<session_row> decode_live(const rowset& rs) {
  std::vector<session_row> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    session_row s;
    s.id = rs.at(i, "id").s;
    s.user_id = rs.at(i, "user_id").s;
    s.amr = amr_from_json(rs.at(i, "amr").s);
    s.ip = rs.at(i, "ip").s;
    s.user_agent = rs.at(i, "user_agent").s;
    s.created_at = rs.at(i, "created_at").i;
    s.last_seen_at = rs.at(i, "last_seen_at").i;
    s.expires_at = rs.at(i, "expires_at").i;
    s.absolute_expires_at = rs.at(i, "absolute_expires_at").i;
    s.auth_time = rs.at(i, "auth_time").i;
    s.refresh_hash = rs.at(i, "token_hash").s;
    s.client_id = rs.at(i, "client_id").s;
    s.scope = rs.at(i, "scope").s;
    s.user.id = s.user_id;
    s.user.email = rs.at(i, "email").s;
    s.user.display_name = rs.at(i, "display_name").s;
    s.user.locale = rs.at(i, "locale").s;
    s.user.created_at = rs.at(i, "user_created_at").i;
    s.browser_hash = rs.at(i, "browser_hash").s; // NULL reads as empty
    out.push_back(std::move(s));
  }
  return out;
}

statement find_refresh(const std::string& token_hash) {
  // live_hash in the same statement, so both come from one snapshot: with
  // several nodes another may rotate between two reads (issue 14).
  return stmt("SELECT r.session_id, r.replaced_at, r.replaced_by, "
              "r.successor_enc, u.id, u.email, u.display_name, "
              "u.locale, u.created_at, u.disabled, "
              "(SELECT l.token_hash FROM refresh_tokens l WHERE l.session_id "
              "= r.session_id AND l.replaced_at IS NULL) AS live_hash "
              "FROM refresh_tokens r JOIN sessions s ON s.id = "
              "r.session_id JOIN users u ON u.id = s.user_id "
              "WHERE r.token_hash = ?",
              {value::text(token_hash)});
}

std::optional<refresh_row> decode_refresh(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  refresh_row r;
  r.session_id = rs.at(0, "session_id").s;
  r.replaced = !rs.at(0, "replaced_at").is_null();
  r.replaced_at = rs.at(0, "replaced_at").i;
  r.replaced_by = rs.at(0, "replaced_by").s;
  r.successor_enc = rs.at(0, "successor_enc").s;
  r.live_hash = rs.at(0, "live_hash").s; // NULL (none live) reads as empty
  r.user = users_store::decode_user(rs);
  return r;
}

// -- sealed successors of rotated tokens --------------------------------------

unit sweep_successors(std::int64_t cutoff) {
  unit u;
  u.statements.push_back(
      stmt("UPDATE refresh_tokens SET successor_enc = NULL "
           "WHERE successor_enc IS NOT NULL AND replaced_at <= ?",
           {value::integer(cutoff)}));
  u.statements.push_back(
      stmt("SELECT replaced_at, token_hash FROM refresh_tokens "
           "WHERE successor_enc IS NOT NULL ORDER BY replaced_at"));
  return u;
}

std::vector<kept_successor> decode_swept(const unit_result& r) {
  std::vector<kept_successor> out;
  if (!r.ok || r.results.size() < 2)
    return out;
  const auto& rs = r.results[1];
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    out.push_back({rs.at(i, "replaced_at").i, rs.at(i, "token_hash").s});
  return out;
}

statement clear_successor(const std::string& token_hash) {
  return stmt("UPDATE refresh_tokens SET successor_enc = NULL "
              "WHERE token_hash = ?",
              {value::text(token_hash)});
}

// -- opening and rotating -----------------------------------------------------

namespace {

statement insert_refresh(const std::string& token_hash,
                         const std::string& session_id, std::int64_t now,
                         std::int64_t expires) {
  return stmt("INSERT INTO refresh_tokens(token_hash, session_id, created_at, "
              "expires_at) VALUES (?, ?, ?, ?)",
              {value::text(token_hash), value::text(session_id),
               value::integer(now), value::integer(expires)});
}

} // namespace

unit open_session(const session_row& s, std::int64_t now) {
  unit u;
  u.statements.push_back(stmt(
      "INSERT INTO sessions(id, user_id, amr, ip, user_agent, "
      "created_at, last_seen_at, expires_at, absolute_expires_at, "
      "auth_time, client_id, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?)",
      {value::text(s.id), value::text(s.user_id), value::text(amr_json(s.amr)),
       value::text(s.ip), value::text(s.user_agent), value::integer(now),
       value::integer(now), value::integer(s.expires_at),
       value::integer(s.absolute_expires_at),
       value::integer(s.auth_time > 0 ? s.auth_time : now),
       s.client_id.empty() ? value::null() : value::text(s.client_id),
       s.client_id.empty() ? value::null() : value::text(s.scope)}));
  u.statements.push_back(
      insert_refresh(s.refresh_hash, s.id, now, s.expires_at));
  return u;
}

void append_rotation(unit& u, const std::string& session_id,
                     const std::string& old_hash, const std::string& new_hash,
                     value sealed_successor, std::int64_t now,
                     std::int64_t expires, const std::string& fail_code) {
  u.statements.push_back(
      stmt_one("UPDATE refresh_tokens SET replaced_at = ?, replaced_by = ?, "
               "successor_enc = ? WHERE token_hash = ? AND replaced_at IS NULL",
               {value::integer(now), value::text(new_hash),
                std::move(sealed_successor), value::text(old_hash)},
               fail_code));
  u.statements.push_back(insert_refresh(new_hash, session_id, now, expires));
}

statement touch_refreshed(const std::string& session_id, std::int64_t now,
                          std::int64_t expires, const std::string& ip,
                          const std::string& user_agent) {
  return stmt_one(
      "UPDATE sessions SET last_seen_at = ?, expires_at = ?, ip = ?, "
      "user_agent = ? WHERE id = ? AND revoked_at IS NULL",
      {value::integer(now), value::integer(expires), value::text(ip),
       value::text(user_agent), value::text(session_id)},
      "invalid_refresh_token");
}

statement reauthenticated(const std::string& session_id,
                          const std::vector<std::string>& amr, std::int64_t now,
                          std::int64_t expires, const std::string& ip,
                          const std::string& user_agent) {
  return stmt_one(
      "UPDATE sessions SET auth_time = ?, amr = ?, last_seen_at = ?, "
      "expires_at = ?, ip = ?, user_agent = ? WHERE id = ? AND revoked_at IS "
      "NULL",
      {value::integer(now), value::text(amr_json(amr)), value::integer(now),
       value::integer(expires), value::text(ip), value::text(user_agent),
       value::text(session_id)},
      "session_gone");
}

// -- revocation ---------------------------------------------------------------

void append_revoke(unit& u, const std::string& session_id, std::int64_t now,
                   const std::string& reason) {
  u.statements.push_back(stmt(
      "UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
      "WHERE id = ? AND revoked_at IS NULL",
      {value::integer(now), value::text(reason), value::text(session_id)}));
  // Nor is a dead browser session's cookie secret (issue 16).
  u.statements.push_back(
      stmt("DELETE FROM browser_sessions WHERE session_id = ?",
           {value::text(session_id)}));
  // A dead session's successors are of no use to anyone: erase at once.
  u.statements.push_back(
      stmt("UPDATE refresh_tokens SET successor_enc = NULL "
           "WHERE session_id = ? AND successor_enc IS NOT NULL",
           {value::text(session_id)}));
}

statement revoke_rest_of_user(const std::string& user_id,
                              const std::string& except_session,
                              std::int64_t now, const std::string& reason) {
  return stmt("UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
              "WHERE user_id = ? AND revoked_at IS NULL AND id != ?",
              {value::integer(now), value::text(reason), value::text(user_id),
               value::text(except_session)});
}

// -- browser sessions (issue 16) ---------------------------------------------

unit bind_browser(const std::string& session_id, const std::string& secret_hash,
                  std::int64_t now, std::int64_t absolute_expires_at) {
  unit u;
  u.statements.push_back(stmt_one(
      "INSERT INTO browser_sessions(session_id, secret_hash, created_at) "
      "SELECT id, ?, ? FROM sessions WHERE id = ? AND revoked_at IS NULL",
      {value::text(secret_hash), value::integer(now), value::text(session_id)},
      "session_gone"));
  u.statements.push_back(
      stmt_one("UPDATE refresh_tokens SET expires_at = ? "
               "WHERE session_id = ? AND replaced_at IS NULL",
               {value::integer(absolute_expires_at), value::text(session_id)},
               "session_gone"));
  return u;
}

statement touch_browser(const std::string& session_id, std::int64_t now,
                        std::int64_t expires) {
  return stmt(
      "UPDATE sessions SET last_seen_at = ?, expires_at = ? "
      "WHERE id = ? AND revoked_at IS NULL",
      {value::integer(now), value::integer(expires), value::text(session_id)});
}

statement purge_browser_secrets() {
  return stmt("DELETE FROM browser_sessions WHERE session_id IN "
              "(SELECT id FROM sessions WHERE revoked_at IS NOT NULL)");
}

// -- changes made by other nodes (issue 14) -----------------------------------

statement change_cursor() {
  return stmt("SELECT COALESCE(MAX(id), 0) AS id FROM session_changes");
}

statement changes_after(std::int64_t cursor, std::int64_t limit) {
  return stmt("SELECT id, session_id FROM session_changes WHERE id > ? "
              "ORDER BY id LIMIT ?",
              {value::integer(cursor), value::integer(limit)});
}

std::vector<session_change> decode_changes(const rowset& rs) {
  std::vector<session_change> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    out.push_back({rs.at(i, "id").i, rs.at(i, "session_id").s});
  return out;
}

statement purge_changes(std::int64_t now) {
  return stmt("DELETE FROM session_changes WHERE created_at < ?",
              {value::integer(now - 86400)});
}

// -- retention ----------------------------------------------------------------

statement purge_sessions(std::int64_t now) {
  return stmt("DELETE FROM sessions WHERE absolute_expires_at < ? OR "
              "expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)",
              {value::integer(now), value::integer(now - 86400),
               value::integer(now - std::int64_t{30} * 86400)});
}

statement purge_refresh_tokens(std::int64_t now) {
  return stmt("DELETE FROM refresh_tokens WHERE expires_at < ?",
              {value::integer(now - 86400)});
}

} // namespace authsvc::db::sessions_store
