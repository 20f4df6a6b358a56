// Refresh rotation: every refresh (and re-authentication) replaces the live
// refresh token; the old one keeps its sealed successor for the grace window
// (a second tab gets the same successor), and a rotated token presented
// after it is a reuse that revokes the session. Also the erasure of kept
// successors once their window is over.
#include "actors/session_internal.hpp"

#include "actors/db_timeout.hpp"
#include "auth/crypto.hpp"
#include "auth/secret_box.hpp"
#include "core/log.hpp"

namespace authsvc::session_detail {

namespace store = db::sessions_store;
using db::value;

namespace {

/// Notes a sealed successor stored at `replaced_at` and makes sure a purge
/// comes when its window ends. One timer at a time, for any number of
/// rotations: the deque is in time order.
void keep_successor_until_grace_ends(self_ptr self, std::int64_t replaced_at,
                                     const std::string& old_hash) {
  auto& st = self->state;
  st.kept_successors.emplace_back(replaced_at, old_hash);
  if (st.scrub_scheduled)
    return;
  st.scrub_scheduled = true;
  // replaced_at is the whole second the rotation happened in, so after
  // `grace` seconds from now the window is over.
  self->delayed_send(self, std::chrono::seconds(st.cfg().tokens.refresh_grace),
                     atom::purge_atom_v);
}

/// After a rotation committed: the stored successor is due for erasure and
/// the index follows the new token.
void rotated(self_ptr self, live_session& s, const rotation_plan& p) {
  if (self->state.cfg().tokens.refresh_grace > 0)
    keep_successor_until_grace_ends(self, p.now, p.old_hash);
  self->state.by_refresh.erase(p.old_hash);
  s.refresh_hash = p.new_hash;
  self->state.by_refresh[p.new_hash] = s.id;
  s.expires_at = p.expires;
  s.last_seen_at = p.now;
  s.refreshed_at = p.now;
  self->state.publish(s);
}

/// Ends the rotation of `s`: @returns its waiters, now no longer waiting.
std::vector<token_promise> take_waiters(live_session& s) {
  auto waiters = std::move(s.waiters);
  s.waiters.clear();
  s.rotating = false;
  return waiters;
}

} // namespace

// -- pure plans ---------------------------------------------------------------

rotation_plan plan_rotation(const config::settings& cfg, const key_ring& ring,
                            const live_session& s, std::int64_t now,
                            const std::string& fail_code) {
  rotation_plan p;
  p.old_hash = s.refresh_hash;
  p.successor = auth::random_token(32);
  p.new_hash = auth::token_hash(p.successor);
  p.now = now;
  p.expires = std::min(now + cfg.tokens.refresh_ttl, s.absolute_expires_at);
  // The successor is kept (encrypted) for the grace window, so a second tab
  // presenting the old token gets the same one instead of a reuse alarm;
  // scrub_successors erases it when the window is over.
  auto sealed
      = cfg.tokens.refresh_grace > 0
            ? value::blob(auth::to_string(auth::secret_box::seal(
                ring.payloads, auth::to_bytes(p.successor), p.old_hash)))
            : value::null();
  store::append_rotation(p.unit, s.id, p.old_hash, p.new_hash,
                         std::move(sealed), now, p.expires, fail_code);
  return p;
}

old_token judge_old_token(const store::refresh_row* row,
                          const std::string* live_hash, std::int64_t now,
                          std::int64_t grace) {
  if (row == nullptr || !row->replaced || live_hash == nullptr)
    return old_token::invalid;
  bool in_grace
      = now - row->replaced_at < grace && row->replaced_by == *live_hash;
  return in_grace ? old_token::replay : old_token::reused;
}

// -- refresh ------------------------------------------------------------------
// A refresh is a flow: the facts (the session in memory, or the stored row
// of an old token), a pure plan (plan_rotation, judge_old_token), one unit
// (rotation, session update, account check), the audit, then the answers.

void rotate(self_ptr self, const std::string& session_id,
            const refresh_request& req) {
  // Guarded: the only caller (the refresh handler) found `session_id` in
  // the cache in this same message.
  auto& s = self->state.sessions.at(session_id);
  auto ua = req.user_agent.substr(0, 512);
  auto plan = plan_rotation(self->state.cfg(), *self->state.opts.keys, s,
                            self->state.now(), "invalid_refresh_token");
  auto u = plan.unit;
  u.statements.push_back(
      store::touch_refreshed(s.id, plan.now, plan.expires, req.ip, ua));
  u.statements.push_back(db::users_store::read_for_refresh(s.user_id));
  auto claims_at = append_claims_read(self, u, s.user_id);
  plan.unit = {};
  s.rotating = true;
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, session_id, plan, req, ua, claims_at](db::unit_result& r) {
            auto it = self->state.sessions.find(session_id);
            if (it == self->state.sessions.end())
              return; // revoked meanwhile; its waiters were answered then
            auto& s = it->second;
            auto waiters = take_waiters(s);
            if (!r.ok && r.fail_code == "invalid_refresh_token"
                && self->state.shared()) {
              // Several nodes: another node rotated this token first (the
              // swap found it replaced) or revoked the session. The stored
              // state decides: the same successor within the grace window,
              // a reuse after it, or nothing (session_sync.cpp).
              for (auto& w : waiters)
                refresh_old(self, plan.old_hash, req, w);
              return;
            }
            if (!r.ok) {
              for (auto& w : waiters)
                w.deliver(refused(session_errc::invalid_refresh_token));
              if (r.fail_code == "user_disabled")
                revoke_ids(self, {session_id},
                           revocation{{},
                                      {},
                                      {},
                                      "user_disabled",
                                      req.ip,
                                      req.user_agent,
                                      {},
                                      {}},
                           [](std::int32_t) {});
              return;
            }
            rotated(self, s, plan);
            s.ip = req.ip;
            s.user_agent = ua;
            auto user = db::users_store::decode_user(r.results[3]);
            s.user = user;
            self->state.publish(s);
            // A change of app_metadata shows in the refreshed token.
            take_claims(self, s, r, claims_at);
            token_result out;
            out.tokens = make_response(self, s, plan.successor, user, plan.now);
            caf::anon_send(self->state.metrics,
                           metrics::inc("token_refreshes_total"));
            audit(self, "session.refreshed", s.user_id, req.ip, req.user_agent,
                  true, {{"session_id", session_id}});
            for (auto& w : waiters)
              w.deliver(out);
          },
          [self, session_id](caf::error& e) {
            log::error("sessions", "refresh-write-failed",
                       {{"error", caf::to_string(e)}});
            auto it = self->state.sessions.find(session_id);
            if (it == self->state.sessions.end())
              return;
            for (auto& w : take_waiters(it->second))
              w.deliver(refused(session_errc::unavailable));
          });
}

void refresh_live(self_ptr self, const std::string& session_id,
                  const refresh_request& req, token_promise rp, bool fresh) {
  auto& st = self->state;
  auto found = st.sessions.find(session_id);
  if (found == st.sessions.end()) {
    // by_refresh only names cached sessions (session_state::index and
    // forget keep both maps together); checked anyway, since a throw here
    // would end the session owner for every client.
    rp.deliver(refused(session_errc::invalid_refresh_token));
    return;
  }
  auto& s = found->second;
  auto now = st.now();
  // Only the client a session was issued to may refresh it (RFC 6749 §6:
  // the token is bound to that client), and an OAuth client's token is no
  // refresh token of ours.
  if (s.client_id != req.client_id) {
    rp.deliver(refused(session_errc::invalid_refresh_token));
    return;
  }
  bool over
      = s.expires_at <= now || s.absolute_expires_at <= now || st.idle(s, now);
  if (over && st.shared() && !fresh && !s.rotating) {
    // Another node may have refreshed it since this copy was taken.
    auto hash = s.refresh_hash;
    ensure_session(
        self, session_id,
        [self, session_id, hash, req, rp]() mutable {
          auto& st = self->state;
          auto it = st.sessions.find(session_id);
          if (it == st.sessions.end() || it->second.refresh_hash != hash)
            return refresh_old(self, hash, req, rp);
          refresh_live(self, session_id, req, rp, true);
        },
        true);
    return;
  }
  if (!req.id_token_alg.empty())
    s.id_token_alg = req.id_token_alg;
  if (s.expires_at <= now || s.absolute_expires_at <= now) {
    st.forget(session_id);
    set_active_gauge(self);
    rp.deliver(refused(session_errc::invalid_refresh_token));
    return;
  }
  if (st.idle(s, now)) {
    // auth.session_idle_timeout: no refresh for that long ends it.
    st.found_idle.push_back(session_id);
    end_idle(self);
    rp.deliver(refused(session_errc::invalid_refresh_token));
    return;
  }
  s.waiters.push_back(rp);
  if (!s.rotating)
    rotate(self, session_id, req);
}

namespace {

/// refresh_old once the token's row (and, with several nodes, its session)
/// was read.
void judge_refresh(self_ptr self, const std::string& hash,
                   const refresh_request& req, token_promise rp,
                   std::optional<store::refresh_row> row, int attempt);

/// Reads the row of `hash` (`attempt` 0, or 1 when read again, see
/// judge_refresh) and judges it.
void read_old(self_ptr self, const std::string& hash,
              const refresh_request& req, token_promise rp, int attempt) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                store::find_refresh(hash))
      .then(
          [self, hash, req, rp, attempt](db::rowset& rs) mutable {
            auto row = store::decode_refresh(rs);
            if (!row || !self->state.shared())
              return judge_refresh(self, hash, req, rp, std::move(row),
                                   attempt);
            // Several nodes: this node's copy of the session may be missing
            // or stale (opened or rotated elsewhere); read it first.
            auto id = row->session_id;
            ensure_session(
                self, id,
                [self, hash, req, rp, attempt, row = std::move(row)]() mutable {
                  judge_refresh(self, hash, req, rp, std::move(row), attempt);
                },
                true);
          },
          [rp](caf::error&) mutable {
            rp.deliver(refused(session_errc::unavailable));
          });
}

} // namespace

void refresh_old(self_ptr self, const std::string& hash,
                 const refresh_request& req, token_promise rp) {
  read_old(self, hash, req, std::move(rp), 0);
}

namespace {

void judge_refresh(self_ptr self, const std::string& hash,
                   const refresh_request& req, token_promise rp,
                   std::optional<store::refresh_row> row, int attempt) {
  const live_session* live = nullptr;
  auto now = self->state.now();
  if (row)
    if (auto it = self->state.sessions.find(row->session_id);
        it != self->state.sessions.end()) {
      if (self->state.idle(it->second, now)) {
        // Idle: over, whatever token it is presented with.
        self->state.found_idle.push_back(it->first);
        end_idle(self);
      } else {
        live = &it->second;
      }
    }
  // Another client's (or an OAuth client's on our refresh route)
  // token is no token here: refused, the family left alone.
  if (live && live->client_id != req.client_id)
    live = nullptr;
  // With several nodes the stored live token decides (this
  // node's copy may be older): read with the row, one snapshot.
  const std::string* live_hash = nullptr;
  if (live)
    live_hash = self->state.shared() ? &row->live_hash : &live->refresh_hash;
  if (live && self->state.shared() && !row->replaced && row->live_hash == hash
      && live->refresh_hash == hash) {
    // The live token of a session opened or rotated elsewhere.
    return refresh_live(self, live->id, req, rp, true);
  }
  if (live && self->state.shared() && !row->replaced
      && live->refresh_hash != hash && attempt == 0) {
    // The session was read after the row and is newer: another node rotated
    // the token in between. The row, read again, says what it is now (a
    // rotated token cannot become live again, so once is enough).
    return read_old(self, hash, req, rp, 1);
  }
  auto verdict = judge_old_token(row ? &*row : nullptr, live_hash, now,
                                 self->state.cfg().tokens.refresh_grace);
  if (verdict == old_token::invalid) {
    rp.deliver(refused(session_errc::invalid_refresh_token));
    return;
  }
  const auto& s = *live;
  if (verdict == old_token::replay) {
    auto successor
        = auth::secret_box::open(self->state.opts.keys->payloads,
                                 auth::to_bytes(row->successor_enc), hash);
    if (successor && !row->user.disabled) {
      token_result out;
      out.tokens
          = make_response(self, s, auth::to_string(*successor), row->user, now);
      rp.deliver(out);
      return;
    }
  }
  // An old token after its grace window: someone holds a copy. Kill
  // the whole family so neither copy works any more.
  auto session_id = row->session_id;
  auto ago = now - row->replaced_at;
  audit(self, "session.refresh_token_reused", s.user_id, req.ip, req.user_agent,
        false, {{"session_id", session_id}, {"replaced_seconds_ago", ago}});
  log::warn("sessions", "refresh-token-reused",
            {{"session_id", session_id},
             {"user_id", s.user_id},
             {"replaced_seconds_ago", ago}});
  revoke_ids(
      self, {session_id},
      revocation{
          {}, {}, {}, "refresh_token_reused", req.ip, req.user_agent, {}, {}},
      [rp](std::int32_t) mutable {
        rp.deliver(refused(session_errc::refresh_token_reused));
      });
}

} // namespace

// -- re-authentication --------------------------------------------------------

void reauthenticate(self_ptr self, const std::string& session_id,
                    const new_session& req, token_promise rp) {
  // Guarded: the only caller (the new_session handler) found `session_id`
  // in the cache in this same message.
  auto& s = self->state.sessions.at(session_id);
  auto ua = req.user_agent.substr(0, 512);
  auto plan = plan_rotation(self->state.cfg(), *self->state.opts.keys, s,
                            self->state.now(), "session_gone");
  auto u = plan.unit;
  u.statements.push_back(store::reauthenticated(s.id, req.amr, plan.now,
                                                plan.expires, req.ip, ua));
  auto claims_at = append_claims_read(self, u, s.user_id);
  plan.unit = {};
  s.rotating = true;
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, rp, session_id, plan, req, ua,
           claims_at](db::unit_result& r) mutable {
            auto it = self->state.sessions.find(session_id);
            if (it == self->state.sessions.end() || !r.ok) {
              // Revoked meanwhile: the sign-in itself succeeded, so it
              // gets a session of its own.
              if (it != self->state.sessions.end())
                for (auto& w : take_waiters(it->second))
                  w.deliver(refused(session_errc::invalid_refresh_token));
              return create_session(self, req, rp);
            }
            auto& s = it->second;
            auto waiters = take_waiters(s);
            rotated(self, s, plan);
            s.auth_time = plan.now;
            s.amr = req.amr;
            s.ip = req.ip;
            s.user_agent = ua;
            s.user = req.user;
            self->state.publish(s);
            take_claims(self, s, r, claims_at);
            token_result out;
            out.tokens
                = make_response(self, s, plan.successor, req.user, plan.now);
            audit(self, "session.reauthenticated", s.user_id, s.ip,
                  s.user_agent, true,
                  {{"session_id", session_id}, {"amr", s.amr}});
            for (auto& w : waiters)
              w.deliver(out);
            rp.deliver(std::move(out));
          },
          [self, rp, session_id](caf::error&) mutable {
            auto it = self->state.sessions.find(session_id);
            if (it != self->state.sessions.end())
              for (auto& w : take_waiters(it->second))
                w.deliver(refused(session_errc::unavailable));
            rp.deliver(fail("service_unavailable"));
          });
}

// -- kept successors ----------------------------------------------------------

void sweep_successors_at_start(self_ptr self) {
  auto cutoff = self->state.now() - self->state.cfg().tokens.refresh_grace;
  // Their windows end within refresh_grace seconds of now.
  self->request(self->state.db, db_timeout, atom::write_atom_v,
                store::sweep_successors(cutoff))
      .then(
          [self](db::unit_result& r) {
            for (const auto& k : store::decode_swept(r))
              keep_successor_until_grace_ends(self, k.replaced_at,
                                              k.token_hash);
          },
          [](caf::error& e) {
            log::warn("sessions", "successor-sweep-failed",
                      {{"error", caf::to_string(e)}});
          });
}

void scrub_successors(self_ptr self) {
  // Without this the live refresh token of every session that ever rotated
  // could be read back from the database file by anyone who also holds the
  // master key.
  auto& st = self->state;
  auto now = st.now();
  auto grace = st.cfg().tokens.refresh_grace;
  // Inside the window while now - replaced_at < grace (refresh_old).
  auto cutoff = now - grace;
  db::unit u;
  std::vector<std::pair<std::int64_t, std::string>> due;
  while (!st.kept_successors.empty()
         && st.kept_successors.front().first <= cutoff) {
    due.push_back(std::move(st.kept_successors.front()));
    st.kept_successors.pop_front();
  }
  for (const auto& [at, hash] : due)
    u.statements.push_back(store::clear_successor(hash));
  st.scrub_scheduled = false;
  if (!st.kept_successors.empty()) {
    // The next window ends at replaced_at + grace (whole seconds).
    auto wait = st.kept_successors.front().first + grace - now;
    st.scrub_scheduled = true;
    self->delayed_send(self,
                       std::chrono::seconds(std::max<std::int64_t>(1, wait)),
                       atom::purge_atom_v);
  }
  if (u.statements.empty())
    return;
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [](db::unit_result& r) {
            if (!r.ok)
              log::warn("sessions", "successor-scrub-failed",
                        {{"code", r.fail_code}});
          },
          [self, due](caf::error& e) mutable {
            // Try again with the next purge; the start-up sweep covers a
            // crash in between.
            log::warn("sessions", "successor-scrub-failed",
                      {{"error", caf::to_string(e)}});
            auto& kept = self->state.kept_successors;
            kept.insert(kept.begin(), due.begin(), due.end());
            if (!self->state.scrub_scheduled) {
              self->state.scrub_scheduled = true;
              self->delayed_send(self, std::chrono::seconds(1),
                                 atom::purge_atom_v);
            }
          });
}

} // namespace authsvc::session_detail
