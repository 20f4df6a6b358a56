// The session actor's behavior: loading keys and sessions at start, opening
// sessions, the periodic purge of its own tables and reload of keys, and
// the message handlers (the other parts are in session_cache.cpp,
// session_refresh.cpp, session_revocation.cpp, session_id_token_key.cpp
// and signing_keys.cpp).
#include "actors/session_actor.hpp"

#include <chrono>
#include <utility>

#include "actors/db_timeout.hpp"
#include "actors/session_internal.hpp"
#include "auth/crypto.hpp"
#include "auth/ids.hpp"
#include "core/log.hpp"
#include "db/keys_store.hpp"
#include "db/oauth_store.hpp"

namespace authsvc {

namespace session_detail {

/// Also publishes the signing key's age (what the signing-key alert
/// watches: rotate every 90 days).
void merge_keys(self_ptr self, const db::rowset& rs) {
  auto& st = self->state;
  st.keys.merge(db::keys_store::decode_keys(rs), *st.opts.keys);
  if (auto k = st.signing())
    caf::anon_send(st.metrics,
                   metrics::set("signing_key_created_timestamp_seconds",
                                static_cast<double>(k->created_at)));
}

namespace {

namespace store = db::sessions_store;

/// The unit that adds new signing keys and retires the current ones.
db::unit key_unit(self_ptr self, const std::vector<auth::signing_key>& keys) {
  auto& st = self->state;
  return new_keys_unit(keys, *st.opts.keys, st.now(),
                       st.cfg().tokens.access_ttl + 60);
}

void load_live_sessions(self_ptr self);

void load_sessions(self_ptr self) {
  start_sync(self, [self] { load_live_sessions(self); });
}

void load_live_sessions(self_ptr self) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                store::load_live(self->state.now()))
      .then(
          [self](db::rowset& rs) {
            // A restarted actor starts the fronts' view over from the
            // database too.
            if (self->state.opts.directory)
              self->state.opts.directory->clear();
            for (auto& row : store::decode_live(rs)) {
              live_session s;
              static_cast<store::session_row&>(s) = std::move(row);
              // The stored last_seen_at is the last creation, refresh or
              // re-authentication (token checks only touch memory).
              s.refreshed_at = s.last_seen_at;
              s.browser_written_at = s.last_seen_at;
              self->state.index(std::move(s));
            }
            self->state.ready = true;
            set_active_gauge(self);
            sweep_successors_at_start(self);
            log::info("sessions", "sessions-loaded",
                      {{"sessions", self->state.sessions.size()},
                       {"keys", self->state.keys.size()}});
            self->delayed_send(
                self, std::chrono::seconds(self->state.opts.tick_seconds),
                atom::tick_atom_v);
          },
          [self](caf::error& e) {
            log::warn("sessions", "session-load-failed",
                      {{"error", caf::to_string(e)}});
            self->delayed_send(self, std::chrono::milliseconds(200),
                               atom::load_atom_v);
          });
}

/// Makes the keys a start needs: the access-token key when none signs
/// (first start, or every key expired) and, when `with_id_token_key`, the
/// RS256 ID-token key beside it (a key set from before issue 16 gets it
/// without retiring anything). Then loads again; with nothing to make,
/// goes on to the sessions.
void make_start_keys(self_ptr self, bool with_id_token_key) {
  auto& st = self->state;
  db::unit unit;
  std::string kid;
  if (!st.signing()) {
    auto keys = rotation_keys(st.cfg(), with_id_token_key);
    kid = keys.front().kid();
    unit = key_unit(self, keys);
  } else if (with_id_token_key) {
    auto key = auth::signing_key::generate(auth::jws_alg::rs256);
    kid = key.kid();
    unit = add_key_unit(key, *st.opts.keys, st.now());
  } else {
    load_sessions(self);
    return;
  }
  if (st.shared()) {
    // Nodes starting together on an empty database (issue 14): one makes
    // the keys, the others find them made once they get the lock. The
    // precondition names the algorithm of the first key to be made.
    bool access_key = !st.signing();
    unit.statements.insert(
        unit.statements.begin(),
        {db::keys_store::rotation_lock(),
         db::keys_store::none_signing(access_key ? "" : "RS256")});
  }
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(unit))
      .then(
          [self, kid](db::unit_result& r) {
            if (!r.ok && r.fail_code == "keys_exist")
              log::info("sessions", "signing-key-made-elsewhere", {});
            else if (!r.ok)
              log::error("sessions", "signing-key-insert-failed",
                         {{"code", r.fail_code}});
            else
              log::info("sessions", "signing-key-created", {{"kid", kid}});
            self->send(self, atom::load_atom_v);
          },
          [self](caf::error& e) {
            log::warn("sessions", "signing-key-insert-failed",
                      {{"error", caf::to_string(e)}});
            self->delayed_send(self, std::chrono::milliseconds(200),
                               atom::load_atom_v);
          });
}

void load(self_ptr self) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::keys_store::load(self->state.now()))
      .then(
          [self](db::rowset& rs) {
            merge_keys(self, rs);
            auto& st = self->state;
            if (st.keys.signing(auth::jws_alg::rs256, st.now())) {
              make_start_keys(self, false);
              return;
            }
            // No RS256 key: it is needed only once an OAuth client exists
            // (issue 16), which the admin route normally saw to already.
            self->request(st.db, db_timeout, atom::query_atom_v,
                          db::oauth_store::any_client())
                .then(
                    [self](db::rowset& clients) {
                      make_start_keys(self, !clients.empty());
                    },
                    [self](caf::error&) {
                      self->delayed_send(self, std::chrono::milliseconds(100),
                                         atom::load_atom_v);
                    });
          },
          [self](caf::error&) {
            // The database is still migrating (or locked): try again shortly.
            self->delayed_send(self, std::chrono::milliseconds(100),
                               atom::load_atom_v);
          });
}

/// Drops expired sessions from memory, removes this actor's expired rows
/// (sessions, refresh tokens, signing keys; other owners purge their own
/// tables, see actors/maintenance_actor) and reloads the keys.
void tick(self_ptr self) {
  auto& st = self->state;
  auto now = st.now();
  std::vector<std::string> expired;
  for (const auto& [id, s] : st.sessions)
    if (s.expires_at <= now || s.absolute_expires_at <= now)
      expired.push_back(id);
    else if (st.idle(s, now))
      st.found_idle.push_back(id);
  for (const auto& id : expired)
    st.forget(id);
  if (!expired.empty())
    set_active_gauge(self);
  end_idle(self);
  db::unit purge;
  purge.statements = {
      store::purge_sessions(now),
      store::purge_refresh_tokens(now),
      db::keys_store::purge_expired(now),
      store::purge_browser_secrets(),
  };
  if (st.shared())
    purge.statements.push_back(store::purge_changes(now));
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(purge))
      .then([](db::unit_result&) {},
            [](caf::error& e) {
              log::warn("sessions", "purge-failed",
                        {{"error", caf::to_string(e)}});
            });
  // Keys rotated by `passwordless-auth keys rotate` (or on another node,
  // should its notification be lost) show up here.
  reload_keys(self);
  auto period = std::min<std::int64_t>(st.opts.tick_seconds,
                                       st.cfg().tokens.key_reload_interval);
  self->delayed_send(self,
                     std::chrono::seconds(std::max<std::int64_t>(1, period)),
                     atom::tick_atom_v);
}

/// Stores the keys of a rotation, reloads the keys and answers `rp` with
/// the access-token key's kid.
void store_rotation(self_ptr self, caf::typed_response_promise<std::string> rp,
                    const std::vector<auth::signing_key>& keys) {
  auto kid = keys.front().kid();
  auto& st = self->state;
  db::unit unit;
  if (st.shared()) {
    // Several nodes: the new keys start signing (and the current ones stop)
    // only after every node's next key reload, so no node meets a token of
    // a key it has not loaded; the notification makes that at once, the
    // delay covers a lost one. One node at a time rotates (the lock).
    auto at = st.now() + st.cfg().tokens.key_reload_interval + 1;
    unit = new_keys_unit(keys, *st.opts.keys, at,
                         st.cfg().tokens.access_ttl + 60);
    unit.statements.insert(unit.statements.begin(),
                           db::keys_store::rotation_lock());
  } else {
    unit = key_unit(self, keys);
  }
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(unit))
      .then(
          [self, rp, kid](db::unit_result& r) mutable {
            if (!r.ok) {
              rp.deliver(caf::make_error(caf::sec::runtime_error,
                                         "key insert failed"));
              return;
            }
            self->request(self->state.db, db_timeout, atom::query_atom_v,
                          db::keys_store::load(self->state.now()))
                .then(
                    [self, rp, kid](db::rowset& rs) mutable {
                      merge_keys(self, rs);
                      log::info("sessions", "signing-key-rotated",
                                {{"kid", kid}});
                      audit(self, "keys.rotated", {}, {}, {}, true,
                            {{"kid", kid}});
                      rp.deliver(kid);
                    },
                    [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
}

/// The rotate_atom handler: new signing keys, then the keys reloaded.
caf::result<std::string> rotate_key(self_ptr self) {
  // Every algorithm in use rotates: the access-token key, and the RS256
  // ID-token key once there is one (the database says, not memory: another
  // node or the CLI may have made it since the last reload, and the
  // rotation retires every current key). The answer names the
  // access-token key.
  auto rp = self->make_response_promise<std::string>();
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::keys_store::live_key_of("RS256"))
      .then(
          [self, rp](db::rowset& rs) mutable {
            bool with_id_token_key
                = !rs.empty()
                  || self->state.keys.signing(auth::jws_alg::rs256) != nullptr;
            store_rotation(self, rp,
                           rotation_keys(self->state.cfg(), with_id_token_key));
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

session_view view_of(const session_state& st, const live_session& s) {
  return session_view{
      s.id,         s.user_id,    s.amr,           s.ip,
      s.user_agent, s.created_at, st.last_seen(s), s.expires_at};
}

std::vector<session_view> list_sessions(self_ptr self,
                                        const std::string& user_id) {
  std::vector<session_view> out;
  auto& st = self->state;
  auto u = st.by_user.find(user_id);
  if (u == st.by_user.end())
    return out;
  auto now = st.now();
  for (const auto& id : u->second) {
    // by_user only names cached sessions (see session_state::forget).
    auto s = st.sessions.find(id);
    if (s != st.sessions.end() && !st.idle(s->second, now))
      out.push_back(view_of(st, s->second));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at > b.created_at;
  });
  return out;
}

std::vector<session_view> lookup_session(self_ptr self,
                                         const std::string& session_id) {
  std::vector<session_view> out;
  auto& st = self->state;
  auto it = st.sessions.find(session_id);
  if (it == st.sessions.end() || it->second.absolute_expires_at <= st.now())
    return out;
  if (st.idle(it->second, st.now())) {
    st.found_idle.push_back(session_id);
    end_idle(self);
    return out;
  }
  out.push_back(view_of(st, it->second));
  return out;
}

/// The verify_atom handler: a miss on a token whose signature checked out
/// reads the session once (opened on another node, session_sync.cpp).
caf::result<auth_result> verify_token(self_ptr self, const std::string& token) {
  auto& st = self->state;
  auto r = st.verify(token, st.now());
  end_idle(self);
  if (st.missed_session.empty())
    return r;
  auto id = std::exchange(st.missed_session, {});
  auto stale = std::exchange(st.missed_stale, false);
  auto rp = self->make_response_promise<auth_result>();
  ensure_session(
      self, id,
      [self, rp, token]() mutable {
        auto& st = self->state;
        auto again = st.verify(token, st.now());
        // Read once: a second miss (or a copy still looking idle after the
        // read failed) is answered as it stands.
        st.missed_session.clear();
        st.missed_stale = false;
        end_idle(self);
        rp.deliver(std::move(again));
      },
      stale);
  return rp;
}

/// The session a live token of ours names (a refresh token: 43
/// characters; else an access token), from memory.
token_owner owner_in_memory(self_ptr self, const std::string& token) {
  auto& st = self->state;
  token_owner out;
  const live_session* s = nullptr;
  if (token.size() == 43) {
    if (auto it = st.by_refresh.find(auth::token_hash(token));
        it != st.by_refresh.end())
      s = &st.sessions.at(it->second);
  } else {
    auto v = st.verify(token, st.now());
    st.missed_session.clear();
    st.missed_stale = false;
    end_idle(self);
    if (v.error.empty())
      if (auto it = st.sessions.find(v.auth.session_id);
          it != st.sessions.end())
        s = &it->second;
  }
  if (s) {
    out.session_id = s->id;
    out.user_id = s->user_id;
    out.client_id = s->client_id;
  }
  return out;
}

/// The token_owner_query handler (the OAuth revocation endpoint). With
/// several nodes the token's session may live on another node only: an
/// access token whose signature checked out names it (read once, as for a
/// token check); a refresh token is looked up by its hash, and only the
/// live one of its session counts (a replaced token is unknown here, as on
/// one node).
caf::result<token_owner> token_owner_of(self_ptr self,
                                        const token_owner_query& q) {
  auto& st = self->state;
  auto hash = q.token.size() == 43 ? auth::token_hash(q.token) : std::string();
  if (!st.shared() || (!hash.empty() && st.by_refresh.count(hash)))
    return owner_in_memory(self, q.token);
  // Made only on the paths that answer later: a promise takes the request
  // over, so a value returned after making one would be dropped.
  auto rp = self->make_response_promise<token_owner>();
  auto answer = [self, rp, token = q.token]() mutable {
    rp.deliver(owner_in_memory(self, token));
  };
  if (hash.empty()) {
    st.verify(q.token, st.now());
    auto id = std::exchange(st.missed_session, {});
    st.missed_stale = false;
    end_idle(self);
    ensure_session(self, id, std::move(answer));
    return rp;
  }
  self->request(st.db, db_timeout, atom::query_atom_v,
                store::find_refresh(hash))
      .then(
          [self, answer](db::rowset& rs) mutable {
            auto row = store::decode_refresh(rs);
            if (!row || row->replaced)
              return answer();
            ensure_session(self, row->session_id, std::move(answer));
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

} // namespace

void reload_keys(self_ptr self) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::keys_store::load(self->state.now()))
      .then([self](db::rowset& rs) { merge_keys(self, rs); },
            [](caf::error&) {});
}

void create_session(self_ptr self, const new_session& req, token_promise rp) {
  auto& st = self->state;
  const auto& cfg = st.cfg();
  auto now = st.now();
  live_session s;
  s.id = auth::uuid_v4();
  s.user_id = req.user.id;
  s.user = req.user;
  s.amr = req.amr;
  s.ip = req.ip;
  s.user_agent = req.user_agent.substr(0, 512);
  s.created_at = now;
  s.last_seen_at = now;
  s.auth_time = req.auth_time > 0 ? req.auth_time : now;
  s.refreshed_at = now;
  s.client_id = req.client_id;
  s.scope = req.scope;
  s.id_token_alg = req.id_token_alg;
  s.absolute_expires_at = now + cfg.tokens.refresh_absolute_ttl;
  s.expires_at = std::min(now + cfg.tokens.refresh_ttl, s.absolute_expires_at);
  auto refresh = auth::random_token(32);
  s.refresh_hash = auth::token_hash(refresh);
  auto unit = store::open_session(s, now);
  auto claims_at = append_claims_read(self, unit, s.user_id);
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(unit))
      .then(
          [self, rp, s, refresh, user = req.user, now, claims_at,
           nonce = req.nonce](db::unit_result& r) mutable {
            if (!r.ok) {
              rp.deliver(fail("internal_error"));
              return;
            }
            take_claims(self, s, r, claims_at);
            token_result out;
            out.tokens = make_response(self, s, refresh, user, now, nonce);
            // Audit before index() moves the session away.
            nlohmann::json meta{{"session_id", s.id}, {"amr", s.amr}};
            if (!s.client_id.empty())
              meta["client_id"] = s.client_id;
            audit(self, "session.created", s.user_id, s.ip, s.user_agent, true,
                  meta);
            auto id = s.id;
            auto ip = s.ip;
            auto ua = s.user_agent;
            self->state.index(std::move(s));
            caf::anon_send(self->state.metrics,
                           metrics::inc("sessions_created_total"));
            // auth.session_max_per_user: the oldest others go before the
            // new tokens are handed out. With several nodes the user's
            // sessions opened elsewhere count too: read first (one read per
            // sign-in, only when the limit is on).
            auto limit_then_answer = [self, rp, user_id = user.id, id, ip, ua,
                                      out = std::move(out)]() mutable {
              enforce_session_limit(self, user_id, id, ip, ua);
              set_active_gauge(self);
              rp.deliver(std::move(out));
            };
            if (self->state.cfg().auth.session_max_per_user > 0)
              ensure_user_sessions(self, user.id, std::move(limit_then_answer));
            else
              limit_then_answer();
          },
          [rp](caf::error&) mutable {
            rp.deliver(fail("service_unavailable"));
          });
}

} // namespace session_detail

// -- behavior -----------------------------------------------------------------

namespace session_detail {

/// Opens a session. An OAuth client's session may come before the RS256 key
/// reached this node (the client was registered on another node, or by the
/// CLI, since the last key reload): the key is read, or made, first.
void open_session(self_ptr self, const new_session& req,
                  const token_promise& rp) {
  auto& st = self->state;
  if (req.client_id.empty()
      || st.keys.signing(auth::jws_alg::rs256, st.now())) {
    create_session(self, req, rp);
    return;
  }
  auto me = caf::actor_cast<session_actor>(self);
  self->request(me, db_timeout, atom::id_key_atom_v)
      .then([self, req,
             rp](std::string&) mutable { create_session(self, req, rp); },
            [self, req, rp](caf::error&) mutable {
              create_session(self, req, rp);
            });
}

} // namespace session_detail

session_actor::behavior_type
session_impl(session_actor::stateful_pointer<session_state> self,
             session_options opts, db_actor db, metrics_actor metrics) {
  using namespace session_detail;
  self->state.opts = std::move(opts);
  self->state.db = std::move(db);
  self->state.metrics = std::move(metrics);
  self->state.claims
      = auth::parse_claim_mappings(self->state.cfg().auth.access_token_claims);
  self->state.keys.set_primary(configured_alg(self->state.cfg()));
  self->send(self, atom::load_atom_v);
  return {
      [=](new_session& req) -> caf::result<token_result> {
        auto& st = self->state;
        if (!st.ready || !st.signing())
          return fail("service_unavailable");
        auto rp = self->make_response_promise<token_result>();
        // A sign-in that carries a valid access token of the same user
        // re-authenticates that session (issue #11, Medium 3); any other
        // bearer (invalid, expired, another user's) is ignored.
        if (req.reauth_token.empty()) {
          open_session(self, req, rp);
          return rp;
        }
        auto decide = [self, req, rp]() mutable {
          auto& st = self->state;
          auto v = st.verify(req.reauth_token, st.now());
          st.missed_session.clear();
          end_idle(self);
          if (v.error.empty() && v.auth.user_id == req.user.id) {
            auto it = st.sessions.find(v.auth.session_id);
            if (it != st.sessions.end() && !it->second.rotating) {
              reauthenticate(self, v.auth.session_id, req, rp);
              return;
            }
          }
          open_session(self, req, rp);
        };
        // A session opened on another node is read first (issue 14).
        st.verify(req.reauth_token, st.now());
        auto missed = std::exchange(st.missed_session, {});
        end_idle(self);
        ensure_session(self, missed, std::move(decide));
        return rp;
      },
      [=](atom::refresh_atom,
          refresh_request& req) -> caf::result<token_result> {
        auto& st = self->state;
        if (!st.ready)
          return refused(session_errc::unavailable);
        // Our refresh tokens are 43 base64url characters; anything else is
        // rejected without a database lookup.
        if (req.refresh_token.size() != 43
            || !auth::base64url_decode(req.refresh_token))
          return refused(session_errc::invalid_refresh_token);
        auto hash = auth::token_hash(req.refresh_token);
        auto rp = self->make_response_promise<token_result>();
        auto it = st.by_refresh.find(hash);
        if (it == st.by_refresh.end()) {
          refresh_old(self, hash, req, rp);
          return rp;
        }
        auto session_id = it->second; // a copy: forget() may erase `it`
        refresh_live(self, session_id, req, rp);
        return rp;
      },
      [=](atom::verify_atom, const std::string& token) {
        return verify_token(self, token);
      },
      [=](atom::list_atom, const std::string& user_id)
          -> caf::result<std::vector<session_view>> {
        // Several nodes: sessions opened elsewhere are read first.
        auto rp = self->make_response_promise<std::vector<session_view>>();
        ensure_user_sessions(self, user_id, [self, user_id, rp]() mutable {
          rp.deliver(list_sessions(self, user_id));
        });
        return rp;
      },
      [=](atom::lookup_atom, const std::string& session_id)
          -> caf::result<std::vector<session_view>> {
        auto rp = self->make_response_promise<std::vector<session_view>>();
        ensure_session(self, session_id, [self, session_id, rp]() mutable {
          rp.deliver(lookup_session(self, session_id));
        });
        return rp;
      },
      [=](atom::revoke_atom, const revocation& rv) { return revoke(self, rv); },
      [=](atom::jwks_atom) -> std::string {
        return self->state.keys.jwks(self->state.now());
      },
      [=](atom::rotate_atom) { return rotate_key(self); },
      [=](atom::id_key_atom) { return ensure_id_token_key(self); },
      [=](browser_bind& req) { return bind_browser(self, req); },
      [=](browser_lookup& req) { return lookup_browser(self, req); },
      [=](atom::ready_atom) { return self->state.ready; },
      [=](const token_owner_query& q) { return token_owner_of(self, q); },
      [=](const user_info& u) {
        auto& st = self->state;
        if (auto it = st.by_user.find(u.id); it != st.by_user.end())
          for (const auto& id : it->second)
            if (auto s = st.sessions.find(id); s != st.sessions.end()) {
              s->second.user = u;
              st.publish(s->second);
            }
      },
      [=](atom::load_atom) {
        if (!self->state.ready)
          load(self);
      },
      [=](atom::tick_atom) { tick(self); },
      [=](atom::purge_atom) { scrub_successors(self); },
      [=](atom::wake_atom) { sync_changes(self); },
      [=](atom::flush_atom) {
        sync_changes(self);
        self->delayed_send(
            self, std::chrono::milliseconds(self->state.opts.change_poll_ms),
            atom::flush_atom_v);
      },
      [=](atom::reload_atom) { reload_keys(self); },
  };
}

} // namespace authsvc
