#pragma once
// The sessions and refresh_tokens tables: the statements the session actor
// runs (open, rotate, re-authenticate, revoke, purge) and the decoding of
// their rows. The session actor keeps every live session in memory and
// writes through with these; no other file holds sessions SQL.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/users_store.hpp"
#include "db/value.hpp"

namespace authsvc::db::sessions_store {

/// A session with its live refresh token and its user, as stored.
struct session_row {
  std::string id;
  std::string user_id;
  user_record user; ///< cached so that GET /v1/session reads no database
  std::vector<std::string> amr;
  std::string ip;
  std::string user_agent;
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t absolute_expires_at = 0;
  /// When the user last signed in to this session (its creation, or the
  /// latest re-authentication); refreshes keep it.
  std::int64_t auth_time = 0;
  std::string refresh_hash; ///< hash of the one live refresh token
  /// The OAuth client it was issued to (issue 16); empty = ours.
  std::string client_id;
  /// Its granted scope (space-separated) when client_id is set.
  std::string scope;
  /// A browser session's cookie secret hash (table browser_sessions,
  /// issue 16); empty for the other sessions.
  std::string browser_hash;
};

/// A rotated refresh token whose row still holds the sealed successor.
struct kept_successor {
  std::int64_t replaced_at = 0;
  std::string token_hash;
};

/// A refresh token that is not the live one of a session in memory.
struct refresh_row {
  std::string session_id;
  bool replaced = false; ///< false: still the live token of its session
  std::int64_t replaced_at = 0;
  std::string replaced_by;
  std::string successor_enc;
  user_record user;
  /// The session's live refresh token as stored (empty: none), read with
  /// the row.
  std::string live_hash;
};

/// The JSON text stored in sessions.amr.
std::string amr_json(const std::vector<std::string>& amr);

// -- reads --------------------------------------------------------------------

/// Reads every session live at `now` with its live refresh token and user.
statement load_live(std::int64_t now);
std::vector<session_row> decode_live(const rowset& rs);

/// The same for one session (none when it is not live): what a node reads
/// when a token names a session it does not hold (opened on another node).
statement load_one(const std::string& session_id, std::int64_t now);

/// The same for every live session of one user.
statement load_user(const std::string& user_id, std::int64_t now);

/// Reads what is stored about refresh token `token_hash`.
statement find_refresh(const std::string& token_hash);
std::optional<refresh_row> decode_refresh(const rowset& rs);

// -- sealed successors of rotated tokens --------------------------------------

/// At start: erases the successors whose window ended by `cutoff`, then
/// reads the rest (in time order) to erase them when theirs ends.
unit sweep_successors(std::int64_t cutoff);
/// The successors still kept after `sweep_successors` (empty on failure).
std::vector<kept_successor> decode_swept(const unit_result& r);

/// Erases the sealed successor kept in the row of `token_hash`.
statement clear_successor(const std::string& token_hash);

// -- opening and rotating -----------------------------------------------------

/// Stores a new session and its first refresh token.
unit open_session(const session_row& s, std::int64_t now);

/// The two statements of every rotation: the old token is marked replaced
/// (keeping `sealed_successor`, which may be null), failing the unit with
/// `fail_code` if it was no longer live; the new token is stored.
void append_rotation(unit& u, const std::string& session_id,
                     const std::string& old_hash, const std::string& new_hash,
                     value sealed_successor, std::int64_t now,
                     std::int64_t expires, const std::string& fail_code);

/// A refresh: the session's new expiry and last client, failing the unit
/// with invalid_refresh_token if it was revoked.
statement touch_refreshed(const std::string& session_id, std::int64_t now,
                          std::int64_t expires, const std::string& ip,
                          const std::string& user_agent);

/// A re-authentication: new auth_time and amr, failing the unit with
/// session_gone if it was revoked.
statement reauthenticated(const std::string& session_id,
                          const std::vector<std::string>& amr, std::int64_t now,
                          std::int64_t expires, const std::string& ip,
                          const std::string& user_agent);

// -- revocation ---------------------------------------------------------------

/// Revokes one session and erases its kept successors and browser cookie
/// secret (three statements).
void append_revoke(unit& u, const std::string& session_id, std::int64_t now,
                   const std::string& reason);

/// Revokes every other session of `user_id` still stored as live.
statement revoke_rest_of_user(const std::string& user_id,
                              const std::string& except_session,
                              std::int64_t now, const std::string& reason);

// -- browser sessions (issue 16) ---------------------------------------------

/// Makes live session `session_id` a browser session: stores the cookie
/// secret's hash, and moves its (never handed out) refresh token's expiry
/// to the absolute one, so that the purge of expired refresh tokens keeps
/// the session loadable while the cookie lives. Fails with `session_gone`
/// when the session was revoked meanwhile.
unit bind_browser(const std::string& session_id, const std::string& secret_hash,
                  std::int64_t now, std::int64_t absolute_expires_at);

/// A browser session was used: its idle time starts again and its sliding
/// expiry moves (no failure when it was revoked meanwhile).
statement touch_browser(const std::string& session_id, std::int64_t now,
                        std::int64_t expires);

/// Erases the cookie secrets of revoked sessions (their rows stay for the
/// trail until purge_sessions removes them).
statement purge_browser_secrets();

// -- changes made by other nodes (issue 14) -----------------------------------
// The table session_changes is filled by PostgreSQL triggers (migrations/
// postgres/0011_session_changes.sql) whenever a live session is revoked or
// deleted; each node reads the rows after the last id it applied.

/// One row of session_changes.
struct session_change {
  std::int64_t id = 0;
  std::string session_id;
};

/// The highest change id (0 when none): where a node starts reading.
statement change_cursor();

/// At most `limit` changes after `cursor`, in id order.
statement changes_after(std::int64_t cursor, std::int64_t limit);
std::vector<session_change> decode_changes(const rowset& rs);

/// Removes changes older than a day (every node has read them long since).
statement purge_changes(std::int64_t now);

// -- retention ----------------------------------------------------------------

/// Removes sessions past their absolute expiry, idle for a day past expiry,
/// or revoked more than 30 days before `now`.
statement purge_sessions(std::int64_t now);

/// Removes refresh tokens that expired a day before `now`.
statement purge_refresh_tokens(std::int64_t now);

} // namespace authsvc::db::sessions_store
