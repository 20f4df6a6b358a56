#pragma once
// Shared by the session actor's own files (not for other actors): the self
// pointer, the helpers every part uses, and each part's entry points.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/session_actor.hpp"
#include "actors/session_errc.hpp"
#include "db/sessions_store.hpp"

namespace authsvc::session_detail {

using self_ptr = session_actor::stateful_pointer<session_state>;
using token_promise = caf::typed_response_promise<token_result>;

// -- helpers (session_cache.cpp) ----------------------------------------------

/// A sign-in that could not open a session (the api.md code).
token_result fail(std::string code);

/// A refresh refused with `e` (delivered as a caf::error).
caf::error refused(session_errc e);

/// Sends an audit event from the session actor.
void audit(self_ptr self, std::string type, const std::string& user_id,
           const std::string& ip, const std::string& ua, bool success,
           const nlohmann::json& meta, const std::string& request_id = {},
           const std::string& actor = {});

/// Publishes the number of live sessions.
void set_active_gauge(self_ptr self);

/// The token response for session `s` with `refresh_token`.
token_response make_response(self_ptr self, const live_session& s,
                             const std::string& refresh_token,
                             const user_info& user, std::int64_t now,
                             const std::string& nonce = {});

// -- keys (session_actor.cpp, session_id_token_key.cpp) -----------------------

/// Merges stored key rows (db::keys_store::load) into the key set and
/// publishes the signing key's age.
void merge_keys(self_ptr self, const db::rowset& rs);

/// The id_key_atom handler: the kid of the RS256 ID-token key, made (and
/// stored) first when none signs yet.
caf::result<std::string> ensure_id_token_key(self_ptr self);

// -- opening (session_actor.cpp) ----------------------------------------------

/// Opens a new session for a user who just signed in.
void create_session(self_ptr self, const new_session& req, token_promise rp);

// -- rotation (session_refresh.cpp) -------------------------------------------

/// Rotates the live refresh token of session `session_id` and answers every
/// waiter.
void rotate(self_ptr self, const std::string& session_id,
            const refresh_request& req);

/// A refresh token that is not the live one of any session in memory:
/// unknown, from a dead session, a replay within the grace window, a reuse,
/// or (several nodes) the live token of a session opened or rotated on
/// another node, which is then rotated here.
void refresh_old(self_ptr self, const std::string& hash,
                 const refresh_request& req, token_promise rp);

/// Refreshes live session `session_id` (in memory, its live token
/// presented): client, expiry and idle checks, then the rotation.
/// `fresh`: the session was just read from the database (several nodes: a
/// copy found expired or idle is read again before it is refused).
void refresh_live(self_ptr self, const std::string& session_id,
                  const refresh_request& req, token_promise rp,
                  bool fresh = false);

/// Re-authenticates live session `session_id` (new auth_time and amr).
void reauthenticate(self_ptr self, const std::string& session_id,
                    const new_session& req, token_promise rp);

/// Successors stored before a restart: erase those whose window is over,
/// keep the rest until theirs ends.
void sweep_successors_at_start(self_ptr self);

/// Erases the sealed successors whose grace window is over (purge_atom).
void scrub_successors(self_ptr self);

// -- revocation (session_revocation.cpp) --------------------------------------

/// Revokes `ids` in memory at once, then in the database; `done(count of
/// live ones)` runs after the commit.
void revoke_ids(self_ptr self, const std::vector<std::string>& ids,
                const revocation& origin,
                const std::function<void(std::int32_t)>& done);

/// The revoke_atom handler.
caf::result<std::int32_t> revoke(self_ptr self, const revocation& rv);

/// The in-memory half of a revocation: audits `audit_type` for each live
/// session of `ids` (with `origin`'s reason and client), forgets it, and
/// appends the revocation of every id to `u`; `extra` joins each event's
/// metadata. @returns how many were live.
std::int32_t forget_revoked(self_ptr self, const std::vector<std::string>& ids,
                            const revocation& origin,
                            const std::string& audit_type, db::unit& u,
                            const nlohmann::json& extra
                            = nlohmann::json::object());

// -- policies (session_policies.cpp) ------------------------------------------

/// Appends the read of `user_id`'s app_metadata to `u` when custom claims
/// are configured. @returns its statement index, or npos when not.
std::size_t append_claims_read(self_ptr self, db::unit& u,
                               const std::string& user_id);

/// Sets the custom claims of `s` from statement `i` of `r` (the read
/// append_claims_read added; npos leaves them as they are).
void take_claims(self_ptr self, live_session& s, const db::unit_result& r,
                 std::size_t i);

/// Revokes, as idle, the sessions a check put in found_idle.
void end_idle(self_ptr self);

/// After session `fresh_id` of `user_id` was opened: revokes the oldest
/// other sessions beyond auth.session_max_per_user, with the notice (audit
/// event and webhook session.evicted, a mail to the user).
void enforce_session_limit(self_ptr self, const std::string& user_id,
                           const std::string& fresh_id, const std::string& ip,
                           const std::string& user_agent);

// -- several nodes on one PostgreSQL (session_sync.cpp) ----------------------

/// Runs `then` once session `id` is in memory if it is live in the database
/// (read once on a miss: it may have been opened on another node), or known
/// not to be. With `fresh` the stored row replaces the one in memory (which
/// another node may have rotated). On SQLite, or when `id` is in memory
/// (and not `fresh`) or known absent, `then` runs at once.
void ensure_session(self_ptr self, const std::string& id,
                    std::function<void()> then, bool fresh = false);

/// Runs `then` once every live session of `user_id` is in memory.
void ensure_user_sessions(self_ptr self, const std::string& user_id,
                          const std::function<void()>& then);

/// Reads the change table from the cursor and forgets what other nodes
/// revoked (wake_atom, flush_atom).
void sync_changes(self_ptr self);

/// Before the sessions load: the change cursor, the listener and the poll
/// timer; `then` runs after the cursor was read.
void start_sync(self_ptr self, const std::function<void()>& then);

/// Re-reads the signing keys (reload_atom, and the periodic tick).
void reload_keys(self_ptr self);

// -- browser sessions (session_browser.cpp) -----------------------------------

/// The browser_bind handler.
caf::result<browser_result> bind_browser(self_ptr self,
                                         const browser_bind& req);

/// The browser_lookup handler; with several nodes a session this node does
/// not hold is read first.
caf::result<browser_result> lookup_browser(self_ptr self,
                                           const browser_lookup& req);

} // namespace authsvc::session_detail

namespace authsvc::session_detail {

// -- pure plans of a rotation (session_refresh.cpp) ---------------------------

/// What one rotation of a session's refresh token writes and hands out.
struct rotation_plan {
  std::string old_hash;
  std::string successor; ///< the new refresh token (plain)
  std::string new_hash;
  std::int64_t now = 0;
  std::int64_t expires = 0;
  /// The old token marked replaced (keeping the sealed successor when there
  /// is a grace window), the new one stored; callers append their session
  /// update.
  db::unit unit;
};

/// The set-up shared by a refresh and a re-authentication of `s` at `now`;
/// the unit fails with `fail_code` when the old token is no longer live.
rotation_plan plan_rotation(const config::settings& cfg, const key_ring& ring,
                            const live_session& s, std::int64_t now,
                            const std::string& fail_code);

/// What a refresh token that is not a live one amounts to.
enum class old_token { invalid, replay, reused };

/// Judges a stored token row against its session's live refresh token
/// (`live_hash` null when the session is not live): a replay inside the
/// grace window of the session's current token, a reuse after it, or
/// nothing usable.
old_token judge_old_token(const db::sessions_store::refresh_row* row,
                          const std::string* live_hash, std::int64_t now,
                          std::int64_t grace);

} // namespace authsvc::session_detail
