#pragma once
// The session actor owns live sessions and the signing keys. It keeps every
// live session in memory (loaded from the database at start, written
// through on every change), so checking an access token never reads the
// database and a revocation is effective the moment it is processed.
// Its parts, one concept a file: actors/signing_keys (keys and JWKS),
// actors/session_cache.cpp (the cache and token verification),
// actors/session_refresh.cpp (rotation, grace window, reuse detection),
// actors/session_revocation.cpp (revocation),
// actors/session_id_token_key.cpp (the RS256 key, made lazily),
// actors/session_actor.cpp
// (loading, opening sessions, the behavior). SQL: db/sessions_store and
// db/keys_store. Refreshes that fail answer a caf::error of session_errc.
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/auditor_actor.hpp"
#include "actors/browser_messages.hpp"
#include "actors/change_listener.hpp"
#include "actors/oauth_messages.hpp"
#include "actors/db_actor.hpp"
#include "actors/mailer_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/messages.hpp"
#include "actors/session_directory.hpp"
#include "actors/signing_keys.hpp"
#include "auth/token_claims.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "db/sessions_store.hpp"

namespace authsvc {

using session_actor = caf::typed_actor<
    /// Opens a session and answers its first token response.
    caf::replies_to<new_session>::with<token_result>,
    /// Rotates a refresh token (grace window, reuse detection). A refusal
    /// is a caf::error of session_errc.
    caf::replies_to<atom::refresh_atom, refresh_request>::with<token_result>,
    /// Checks an access token and that its session is live.
    caf::replies_to<atom::verify_atom, std::string>::with<auth_result>,
    /// Lists a user's live sessions.
    caf::replies_to<atom::list_atom,
                    std::string>::with<std::vector<session_view>>,
    /// One session by id: one element while it is live (as verify sees it),
    /// none otherwise.
    caf::replies_to<atom::lookup_atom,
                    std::string>::with<std::vector<session_view>>,
    /// Revokes sessions; answers how many were live.
    caf::replies_to<atom::revoke_atom, revocation>::with<std::int32_t>,
    /// The JWKS document (JSON text).
    caf::replies_to<atom::jwks_atom>::with<std::string>,
    /// Adds a new signing key; the old one keeps verifying until its tokens
    /// expired. Answers the new kid.
    caf::replies_to<atom::rotate_atom>::with<std::string>,
    /// Makes the RS256 ID-token key unless one signs already (issue 16:
    /// made when the first OAuth client is registered, not at every
    /// start). Answers its kid.
    caf::replies_to<atom::id_key_atom>::with<std::string>,
    /// Browser sessions (issue 16, actors/session_browser.cpp): binds a
    /// cookie secret to a session just opened, and resolves a cookie.
    caf::replies_to<browser_bind>::with<browser_result>,
    caf::replies_to<browser_lookup>::with<browser_result>,
    /// Whose live token is this (issue 16, the revocation endpoint).
    caf::replies_to<token_owner_query>::with<token_owner>,
    /// True once keys and sessions are loaded.
    caf::replies_to<atom::ready_atom>::with<bool>,
    /// A user's profile changed: refresh the copy cached with its sessions.
    caf::reacts_to<user_info>,
    /// Internal: load state; periodic purge and key reload; erasing the
    /// stored successors whose grace window is over.
    caf::reacts_to<atom::load_atom>, caf::reacts_to<atom::tick_atom>,
    caf::reacts_to<atom::purge_atom>,
    /// Several nodes (issue 14, actors/session_sync.cpp): sessions changed
    /// on another node (read the change table; from the change listener);
    /// a signing key was added (reload the keys); the change table's poll
    /// timer.
    caf::reacts_to<atom::wake_atom>, caf::reacts_to<atom::reload_atom>,
    caf::reacts_to<atom::flush_atom>>;

struct session_options {
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  /// Seconds between purges and key reloads.
  std::int64_t tick_seconds = 30;
  auditor_actor auditor;
  /// Where the actor reads the time (a manual clock in tests).
  clock_ptr clock = real_clock();
  /// Woken after the actor queued a notice (an eviction); may be null (the
  /// mailer's own poll then finds the job).
  mailer_actor mailer;
  /// The read view the HTTP fronts check tokens against (issue 13); the
  /// actor publishes every change to it before acknowledging. May be null
  /// (then every check asks the actor).
  session_directory_ptr directory;
  /// Several nodes (issue 14): between two reads of the change table when
  /// no notification came (the fallback for a lost one).
  int change_poll_ms = 500;
};

/// A live session: what is stored of it (id, user and cached profile, amr,
/// client, times, the hash of its one live refresh token; see
/// db::sessions_store::session_row), and its rotation in progress.
struct live_session : db::sessions_store::session_row {
  /// Refreshes of the live token that arrived while it was being rotated;
  /// they all receive the same successor.
  std::vector<caf::typed_response_promise<token_result>> waiters;
  bool rotating = false;
  /// When the session was created, refreshed or re-authenticated last: the
  /// start of its idle time (auth.session_idle_timeout). Stored as the
  /// row's last_seen_at, which only those three write.
  std::int64_t refreshed_at = 0;
  /// The custom claims (auth.access_token_claims) resolved when its tokens
  /// were minted last; a replay within the grace window reuses them.
  nlohmann::json custom_claims = nlohmann::json::object();
  /// Order of opening (index()): breaks ties of created_at, which counts
  /// whole seconds, when the oldest session is chosen.
  std::uint64_t seq = 0;
  /// For an OAuth client's session (issue 16): the algorithm of its ID
  /// tokens, as the client's registration said at the last exchange or
  /// refresh (every refresh request names it again, so it is not stored).
  std::string id_token_alg;
  /// A browser session's activity last written to the database (its
  /// last_seen_at); cookie uses write at most once a minute.
  std::int64_t browser_written_at = 0;
  /// Several nodes (issue 14): when this copy was last read from the
  /// database (0: made here). Another node may have refreshed the session
  /// since, so an idle verdict on an older copy is checked by reading it
  /// again first.
  std::int64_t read_at = 0;
};

struct session_state {
  static inline const char* name = "authsvc.sessions";

  session_options opts;
  db_actor db;
  metrics_actor metrics;
  bool ready = false;
  std::unordered_map<std::string, live_session> sessions;
  std::unordered_map<std::string, std::string> by_refresh; ///< hash -> id
  std::unordered_map<std::string, std::set<std::string>> by_user;
  signing_key_set keys;
  /// Rotated refresh tokens whose row still holds the sealed successor, as
  /// (replaced_at, token_hash), oldest first. The successor is the live
  /// refresh token: it stays in the database only for the grace window, and
  /// a purge_atom erases it then (see scrub_successors).
  std::deque<std::pair<std::int64_t, std::string>> kept_successors;
  /// A purge_atom is on its way.
  bool scrub_scheduled = false;
  /// Who waits for the RS256 ID-token key being made (id_key_atom); a
  /// non-empty list means it is being made.
  std::vector<caf::typed_response_promise<std::string>> id_key_waiters;
  /// Access tokens whose signature and claims already checked out, by the
  /// SHA-256 of the token: a client repeats its token on every request, and
  /// an ES256 verification (~100 µs) would otherwise serialise them here.
  /// Liveness is still checked on every request; bounded by clearing.
  struct verified_token {
    std::string user_id;
    std::string session_id;
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0;
    std::string jti;
    std::int64_t auth_time = 0;
    /// The token's aud claim, every member (checked per session).
    std::vector<std::string> audience;
  };
  std::unordered_map<std::string, verified_token> verified;
  std::uint64_t next_seq = 0;
  /// auth.access_token_claims, parsed once.
  auth::claim_mappings claims;
  /// Sessions a check found idle (auth.session_idle_timeout); the handler
  /// that ran the check revokes them (see session_policies.cpp).
  std::vector<std::string> found_idle;

  // -- several nodes on one PostgreSQL (issue 14, session_sync.cpp) --
  /// The last session_changes id applied.
  std::int64_t change_cursor = 0;
  /// A read of the change table is on its way / another one is wanted.
  bool syncing = false;
  bool sync_again = false;
  /// Session ids known not to be live (revoked, expired, never stored):
  /// until when (a token naming one is not read again before then).
  std::unordered_map<std::string, std::int64_t> absent;
  /// Sessions being read from the database, with what waits for each.
  std::unordered_map<std::string, std::vector<std::function<void()>>> loading;
  /// Sessions revoked (on any node) while being read: the read is stale.
  std::set<std::string> revoked_while_loading;
  /// Set by verify(): the token checked out but names a session this node
  /// does not hold (perhaps opened on another node); empty otherwise.
  std::string missed_session;
  /// With missed_session: the session is held, but its copy is to be read
  /// again (it looked idle).
  bool missed_stale = false;
  change_listener_actor listener;

  const config::settings& cfg() const { return *opts.cfg; }
  /// True when the store is shared with other nodes (database.url).
  bool shared() const { return !cfg().database.url.empty(); }
  /// True while `id` is in the negative cache at `now`.
  bool known_absent(const std::string& id, std::int64_t now) const;
  /// Wall time in seconds, from the injected clock.
  std::int64_t now() const { return opts.clock->unix_seconds(); }
  const stored_key* signing() const { return keys.signing(now()); }
  void index(live_session&& s);
  void forget(const std::string& id);
  /// Publishes `s` as it is now to opts.directory (after every change of a
  /// field a token check reads), carrying over the last check's time.
  void publish(live_session& s);
  /// last_seen_at, including the checks the fronts answered themselves.
  std::int64_t last_seen(const live_session& s) const;
  std::string mint_access_token(const live_session& s, std::int64_t now) const;
  /// The ID token for an OAuth client's session `s` (issue 16) that goes
  /// with `access_token`; empty when `s` has no client or no openid scope.
  std::string mint_id_token(const live_session& s, std::int64_t now,
                            const std::string& access_token,
                            const std::string& nonce) const;
  /// True when `s` went without a refresh for auth.session_idle_timeout.
  bool idle(const live_session& s, std::int64_t now) const;
  /// Checks an access token (signature, claims, live session) at `now`;
  /// marks the session seen.
  auth_result verify(const std::string& token, std::int64_t now);
};

session_actor::behavior_type
session_impl(session_actor::stateful_pointer<session_state> self,
             session_options opts, db_actor db, metrics_actor metrics);

} // namespace authsvc
