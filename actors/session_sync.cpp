// Several nodes on one PostgreSQL (issue 14): how a node's session cache
// stays exact when other nodes open, rotate and revoke sessions.
//
// - A token naming a session this node does not hold is checked against
//   the database once (ensure_session): the session may have been opened
//   on another node. Only a token whose signature checked out gets that
//   far, so an attacker cannot make up session ids to read; an id found not
//   live goes into a negative cache (`absent`) until the tokens naming it
//   have expired, and concurrent misses on one id share one read. So the
//   reads a client can cause are bounded by the sessions it once held, one
//   per id per access-token lifetime.
// - A revocation anywhere fires a trigger that appends the session to
//   session_changes and notifies pa_session_changes; the change listener
//   wakes this actor, which reads the rows after its cursor and forgets
//   those sessions. The same read runs every change_poll_ms, so a lost
//   notification costs at most one poll period.
// - Refresh tokens rotate by compare-and-swap in the database
//   (session_refresh.cpp): a node whose copy is stale loses the swap and
//   re-reads the session (ensure_session with `fresh`).
// On SQLite (one node) none of this runs: shared() is false.
#include "actors/session_internal.hpp"

#include <chrono>

#include "actors/db_timeout.hpp"
#include "core/log.hpp"
#include "db/keys_store.hpp"

namespace authsvc::session_detail {

namespace store = db::sessions_store;

namespace {

/// Changes read per query; more are read at once after a full batch.
constexpr std::int64_t change_batch = 1000;
/// Negative cache entries kept at most (then it starts over).
constexpr std::size_t max_absent = 100'000;

/// How long an id found not live stays known as such: until every access
/// token that could name it has expired (it can never become live again:
/// ids are random and a session is stored before any token names it).
std::int64_t absent_until(const session_state& st, std::int64_t now) {
  return now + st.cfg().tokens.access_ttl + 60;
}

void mark_absent(session_state& st, const std::string& id, std::int64_t now) {
  if (st.absent.size() >= max_absent)
    st.absent.clear();
  st.absent[id] = absent_until(st, now);
}

/// Takes a stored row into memory: a new session, or (`fresh`) the stored
/// state of one whose copy may be stale. A session mid-rotation here keeps
/// its copy (its rotation's outcome decides).
void take_row(self_ptr self, store::session_row&& row) {
  auto& st = self->state;
  auto it = st.sessions.find(row.id);
  live_session s;
  if (it != st.sessions.end()) {
    if (it->second.rotating)
      return;
    // What is not stored (see live_session) carries over.
    s.custom_claims = it->second.custom_claims;
    s.id_token_alg = it->second.id_token_alg;
    // Not rotating: nothing waits on it.
    st.forget(row.id);
  }
  static_cast<store::session_row&>(s) = std::move(row);
  s.refreshed_at = s.last_seen_at;
  s.browser_written_at = s.last_seen_at;
  s.read_at = st.now();
  st.index(std::move(s));
}

/// Forgets sessions another node revoked (no audit, no write: that node
/// did both).
void apply_changes(self_ptr self,
                   const std::vector<store::session_change>& cs) {
  auto& st = self->state;
  auto now = st.now();
  bool dropped = false;
  for (const auto& c : cs) {
    st.change_cursor = std::max(st.change_cursor, c.id);
    if (st.sessions.count(c.session_id)) {
      st.forget(c.session_id);
      dropped = true;
    }
    mark_absent(st, c.session_id, now);
    if (st.loading.count(c.session_id))
      st.revoked_while_loading.insert(c.session_id);
  }
  if (dropped)
    set_active_gauge(self);
}

} // namespace

void ensure_session(self_ptr self, const std::string& id,
                    std::function<void()> then, bool fresh) {
  auto& st = self->state;
  auto now = st.now();
  if (!st.shared() || id.empty() || (!fresh && st.sessions.count(id))
      || (!fresh && st.known_absent(id, now)))
    return then();
  if (auto it = st.loading.find(id); it != st.loading.end()) {
    it->second.push_back(std::move(then));
    return;
  }
  st.loading[id].push_back(std::move(then));
  log::debug("sessions", "session-read", {{"session_id", id}});
  self->request(st.db, db_timeout, atom::query_atom_v, store::load_one(id, now))
      .then(
          [self, id](db::rowset& rs) {
            auto& st = self->state;
            auto rows = store::decode_live(rs);
            bool stale = st.revoked_while_loading.erase(id) > 0;
            if (rows.empty() || stale) {
              if (st.sessions.count(id) && !st.sessions.at(id).rotating)
                st.forget(id);
              mark_absent(st, id, st.now());
            } else {
              st.absent.erase(id);
              take_row(self, std::move(rows.front()));
            }
            set_active_gauge(self);
            auto waiting = std::move(st.loading[id]);
            st.loading.erase(id);
            for (auto& f : waiting)
              f();
          },
          [self, id](caf::error& e) {
            // The database is away: answer from memory (a miss stays one).
            log::warn("sessions", "session-read-failed",
                      {{"error", caf::to_string(e)}});
            auto& st = self->state;
            st.revoked_while_loading.erase(id);
            auto waiting = std::move(st.loading[id]);
            st.loading.erase(id);
            for (auto& f : waiting)
              f();
          });
}

void ensure_user_sessions(self_ptr self, const std::string& user_id,
                          const std::function<void()>& then) {
  auto& st = self->state;
  if (!st.shared() || user_id.empty())
    return then();
  self->request(st.db, db_timeout, atom::query_atom_v,
                store::load_user(user_id, st.now()))
      .then(
          [self, then](db::rowset& rs) {
            auto& st = self->state;
            for (auto& row : store::decode_live(rs))
              if (!st.sessions.count(row.id) && !st.loading.count(row.id)
                  && !st.known_absent(row.id, st.now()))
                take_row(self, std::move(row));
            set_active_gauge(self);
            then();
          },
          [then](caf::error&) { then(); });
}

void sync_changes(self_ptr self) {
  auto& st = self->state;
  if (!st.shared() || !st.ready)
    return;
  if (st.syncing) {
    st.sync_again = true;
    return;
  }
  st.syncing = true;
  st.sync_again = false;
  self->request(st.db, db_timeout, atom::query_atom_v,
                store::changes_after(st.change_cursor, change_batch))
      .then(
          [self](db::rowset& rs) {
            auto changes = store::decode_changes(rs);
            apply_changes(self, changes);
            auto& st = self->state;
            st.syncing = false;
            if (st.sync_again
                || static_cast<std::int64_t>(changes.size()) == change_batch)
              sync_changes(self);
          },
          [self](caf::error& e) {
            log::warn("sessions", "session-changes-read-failed",
                      {{"error", caf::to_string(e)}});
            self->state.syncing = false;
          });
}

void start_sync(self_ptr self, const std::function<void()>& then) {
  auto& st = self->state;
  if (!st.shared())
    return then();
  // The cursor is read before the sessions: a revocation committed in
  // between is after the cursor, so the first poll applies it.
  self->request(st.db, db_timeout, atom::query_atom_v, store::change_cursor())
      .then(
          [self, then](db::rowset& rs) {
            auto& st = self->state;
            st.change_cursor = rs.empty() ? 0 : rs.at(0, "id").i;
            if (!st.listener) {
              st.listener = self->spawn<caf::detached + caf::linked>(
                  change_listener_impl,
                  change_listener_options{st.cfg().database.url},
                  caf::actor_cast<change_sink>(self));
              self->delayed_send(
                  self, std::chrono::milliseconds(st.opts.change_poll_ms),
                  atom::flush_atom_v);
            }
            then();
          },
          [self](caf::error&) {
            self->delayed_send(self, std::chrono::milliseconds(200),
                               atom::load_atom_v);
          });
}

} // namespace authsvc::session_detail

namespace authsvc {

bool session_state::known_absent(const std::string& id,
                                 std::int64_t now) const {
  auto it = absent.find(id);
  return it != absent.end() && it->second > now;
}

} // namespace authsvc
