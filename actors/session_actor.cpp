#include "db/users_store.hpp"
#include "actors/session_actor.hpp"

#include <chrono>

#include "auth/crypto.hpp"
#include "auth/ids.hpp"
#include "auth/jws.hpp"
#include "auth/secret_box.hpp"
#include "core/log.hpp"
#include "db/sqlite_executor.hpp"

namespace authsvc {

namespace {

using self_ptr = session_actor::stateful_pointer<session_state>;
using db::value;

constexpr auto db_timeout = std::chrono::seconds(10);

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

token_result fail(std::string code) {
  token_result r;
  r.error = std::move(code);
  return r;
}

std::string amr_json(const std::vector<std::string>& amr) {
  return nlohmann::json(amr).dump();
}

std::vector<std::string> amr_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string())
        out.push_back(x.get<std::string>());
  return out;
}

auth::jws_alg configured_alg(const config::settings& cfg) {
  return auth::parse_jws_alg(cfg.tokens.algorithm)
      .value_or(auth::jws_alg::es256);
}

/// The statements that store a new signing key and retire the current one.
db::unit key_insert_unit(const auth::signing_key& key, const key_ring& keys,
                         std::int64_t now, std::int64_t retire_grace) {
  auto sealed = auth::secret_box::seal(keys.signing_keys, key.to_pkcs8_der(),
                                       key.kid());
  db::unit u;
  u.statements.push_back(
      db::stmt("UPDATE signing_keys SET retired_at = ?, expires_at = ? "
               "WHERE retired_at IS NULL",
               {value::integer(now), value::integer(now + retire_grace)}));
  u.statements.push_back(db::stmt(
      "INSERT INTO signing_keys(kid, alg, private_key_enc, public_jwk, "
      "created_at) VALUES (?, ?, ?, ?, ?)",
      {value::text(key.kid()),
       value::text(std::string(auth::to_string(key.alg()))),
       value::blob(auth::to_string(sealed)),
       value::text(key.public_jwk().dump()), value::integer(now)}));
  return u;
}

const char* load_keys_sql
    = "SELECT kid, private_key_enc, created_at, COALESCE(retired_at, 0) AS "
      "retired_at, COALESCE(expires_at, 0) AS expires_at FROM signing_keys "
      "WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, kid";

/// Merges key rows into memory: new keys are decrypted and added, known
/// ones get their retirement dates.
void merge_keys(self_ptr self, const db::rowset& rs) {
  auto& st = self->state;
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    const auto& kid = rs.at(i, "kid").s;
    auto it
        = std::find_if(st.keys.begin(), st.keys.end(),
                       [&](const stored_key& k) { return k.key.kid() == kid; });
    if (it != st.keys.end()) {
      it->retired_at = rs.at(i, "retired_at").i;
      it->expires_at = rs.at(i, "expires_at").i;
      continue;
    }
    auto der = auth::secret_box::open(
        st.opts.keys->signing_keys,
        auth::to_bytes(rs.at(i, "private_key_enc").s), kid);
    if (!der) {
      log::error("sessions", "signing-key-undecryptable",
                 {{"kid", kid},
                  {"hint", "auth.secret_key differs from the one that "
                           "stored this key"}});
      continue;
    }
    auto key = auth::signing_key::from_pkcs8_der(*der);
    if (!key) {
      log::error("sessions", "signing-key-unreadable", {{"kid", kid}});
      continue;
    }
    st.keys.push_back(stored_key{std::move(*key), rs.at(i, "created_at").i,
                                 rs.at(i, "retired_at").i,
                                 rs.at(i, "expires_at").i});
  }
  std::stable_sort(st.keys.begin(), st.keys.end(),
                   [](const stored_key& a, const stored_key& b) {
                     return a.created_at < b.created_at;
                   });
  // Its age is what the signing-key alert watches (rotate every 90 days).
  if (auto k = st.signing())
    caf::anon_send(st.metrics,
                   metrics::set("signing_key_created_timestamp_seconds",
                                static_cast<double>(k->created_at)));
}

void audit(self_ptr self, std::string type, const std::string& user_id,
           const std::string& ip, const std::string& ua, bool success,
           nlohmann::json meta, const std::string& request_id = {},
           const std::string& actor = {}) {
  audit_event e;
  e.type = std::move(type);
  e.user_id = user_id;
  e.ip = ip;
  e.user_agent = ua;
  e.success = success;
  e.metadata = meta.dump();
  e.request_id = request_id;
  e.actor = actor;
  caf::anon_send(self->state.opts.auditor, std::move(e));
}

void set_active_gauge(self_ptr self) {
  caf::anon_send(
      self->state.metrics,
      metrics::set("active_sessions",
                   static_cast<double>(self->state.sessions.size())));
}

void keep_successor_until_grace_ends(self_ptr self, std::int64_t replaced_at,
                                     const std::string& old_hash);

/// Successors stored before a restart have no purge coming: erase those
/// whose window is over now, and leave the rest to scrub_successors.
void sweep_successors_at_start(self_ptr self) {
  auto now = unix_now();
  auto cutoff = now - self->state.cfg().tokens.refresh_grace;
  db::unit u;
  u.statements.push_back(
      db::stmt("UPDATE refresh_tokens SET successor_enc = NULL "
               "WHERE successor_enc IS NOT NULL AND replaced_at <= ?",
               {value::integer(cutoff)}));
  // Their windows end within refresh_grace seconds of now.
  u.statements.push_back(
      db::stmt("SELECT replaced_at, token_hash FROM refresh_tokens "
               "WHERE successor_enc IS NOT NULL ORDER BY replaced_at"));
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self](db::unit_result& r) {
            if (!r.ok || r.results.size() < 2)
              return;
            const auto& rs = r.results[1];
            for (std::size_t i = 0; i < rs.rows.size(); ++i)
              keep_successor_until_grace_ends(self, rs.at(i, "replaced_at").i,
                                              rs.at(i, "token_hash").s);
          },
          [](caf::error& e) {
            log::warn("sessions", "successor-sweep-failed",
                      {{"error", caf::to_string(e)}});
          });
}

void load_sessions(self_ptr self) {
  auto now = unix_now();
  self->request(
          self->state.db, db_timeout, atom::query_atom_v,
          db::stmt("SELECT s.id, s.user_id, s.amr, s.ip, s.user_agent, "
                   "s.created_at, s.last_seen_at, s.expires_at, "
                   "CASE WHEN s.auth_time > 0 THEN s.auth_time ELSE "
                   "s.created_at END AS auth_time, "
                   "s.absolute_expires_at, r.token_hash, u.email, "
                   "u.display_name, u.locale, u.created_at AS "
                   "user_created_at FROM sessions s JOIN refresh_tokens r "
                   "ON r.session_id = s.id AND r.replaced_at IS NULL "
                   "JOIN users u ON u.id = s.user_id AND u.disabled = 0 "
                   "WHERE s.revoked_at IS NULL AND s.expires_at > ? "
                   "AND s.absolute_expires_at > ?",
                   {value::integer(now), value::integer(now)}))
      .then(
          [self](db::rowset& rs) {
            for (std::size_t i = 0; i < rs.rows.size(); ++i) {
              live_session s;
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
              s.user.id = s.user_id;
              s.user.email = rs.at(i, "email").s;
              s.user.display_name = rs.at(i, "display_name").s;
              s.user.locale = rs.at(i, "locale").s;
              s.user.created_at = rs.at(i, "user_created_at").i;
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

void load(self_ptr self) {
  auto now = unix_now();
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::stmt(load_keys_sql, {value::integer(now)}))
      .then(
          [self](db::rowset& rs) {
            merge_keys(self, rs);
            if (self->state.signing()) {
              load_sessions(self);
              return;
            }
            // First start (or every key expired): make one.
            auto key = auth::signing_key::generate(
                configured_alg(self->state.cfg()));
            auto kid = key.kid();
            auto unit
                = key_insert_unit(key, *self->state.opts.keys, unix_now(),
                                  self->state.cfg().tokens.access_ttl + 60);
            self->request(self->state.db, db_timeout, atom::write_atom_v, unit)
                .then(
                    [self, kid](db::unit_result& r) {
                      if (!r.ok)
                        log::error("sessions", "signing-key-insert-failed",
                                   {{"code", r.fail_code}});
                      else
                        log::info("sessions", "signing-key-created",
                                  {{"kid", kid}});
                      self->send(self, atom::load_atom_v);
                    },
                    [self](caf::error& e) {
                      log::warn("sessions", "signing-key-insert-failed",
                                {{"error", caf::to_string(e)}});
                      self->delayed_send(self, std::chrono::milliseconds(200),
                                         atom::load_atom_v);
                    });
          },
          [self](caf::error&) {
            // The database is still migrating (or locked): try again shortly.
            self->delayed_send(self, std::chrono::milliseconds(100),
                               atom::load_atom_v);
          });
}

token_response make_response(self_ptr self, const live_session& s,
                             const std::string& refresh_token,
                             const user_info& user, std::int64_t now) {
  token_response t;
  t.access_token = self->state.mint_access_token(s, now);
  t.expires_in = self->state.cfg().tokens.access_ttl;
  t.refresh_token = refresh_token;
  t.refresh_expires_in = std::max<std::int64_t>(0, s.expires_at - now);
  t.session_id = s.id;
  t.user = user;
  return t;
}

/// Revokes in memory at once, then in the database; `done(count)` runs
/// after the commit.
template <class F>
void revoke_ids(self_ptr self, const std::vector<std::string>& ids,
                const revocation& origin, F done) {
  const auto& reason = origin.reason;
  auto now = unix_now();
  db::unit u;
  std::int32_t live = 0;
  for (const auto& id : ids) {
    if (auto it = self->state.sessions.find(id);
        it != self->state.sessions.end()) {
      audit(self, "session.revoked", it->second.user_id, origin.ip,
            origin.user_agent, true, {{"session_id", id}, {"reason", reason}},
            origin.request_id, origin.actor);
      self->state.forget(id);
      ++live;
    }
    u.statements.push_back(
        db::stmt("UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
                 "WHERE id = ? AND revoked_at IS NULL",
                 {value::integer(now), value::text(reason), value::text(id)}));
    // A dead session's successors are of no use to anyone: erase at once.
    u.statements.push_back(
        db::stmt("UPDATE refresh_tokens SET successor_enc = NULL "
                 "WHERE session_id = ? AND successor_enc IS NOT NULL",
                 {value::text(id)}));
  }
  if (live > 0) {
    caf::anon_send(self->state.metrics,
                   metrics::inc("sessions_revoked_total", {}, live));
    set_active_gauge(self);
  }
  if (u.statements.empty())
    return done(live);
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then([done, live](db::unit_result&) mutable { done(live); },
            [done, live](caf::error& e) mutable {
              log::error("sessions", "revoke-write-failed",
                         {{"error", caf::to_string(e)}});
              done(live);
            });
}

/// Erases the sealed successors whose grace window is over, then waits for
/// the next one to end. Without this the live refresh token of every
/// session that ever rotated could be read back from the database file by
/// anyone who also holds the master key.
void scrub_successors(self_ptr self) {
  auto& st = self->state;
  auto now = unix_now();
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
    u.statements.push_back(
        db::stmt("UPDATE refresh_tokens SET successor_enc = NULL "
                 "WHERE token_hash = ?",
                 {value::text(hash)}));
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

/// The two statements of every rotation of `s`'s refresh token (a refresh
/// or a re-authentication): the old token is marked replaced, keeping the
/// sealed successor only when there is a grace window (it is the live
/// refresh token: scrub_successors erases it when the window is over), and
/// the new token is inserted.
void append_rotation(self_ptr self, db::unit& u, const live_session& s,
                     const std::string& successor, const std::string& new_hash,
                     std::int64_t now, std::int64_t expires,
                     const char* fail_code) {
  const auto& old_hash = s.refresh_hash;
  auto sealed = self->state.cfg().tokens.refresh_grace > 0
                    ? value::blob(auth::to_string(auth::secret_box::seal(
                        self->state.opts.keys->payloads,
                        auth::to_bytes(successor), old_hash)))
                    : value::null();
  u.statements.push_back(db::stmt_one(
      "UPDATE refresh_tokens SET replaced_at = ?, replaced_by = ?, "
      "successor_enc = ? WHERE token_hash = ? AND replaced_at IS NULL",
      {value::integer(now), value::text(new_hash), std::move(sealed),
       value::text(old_hash)},
      fail_code));
  u.statements.push_back(
      db::stmt("INSERT INTO refresh_tokens(token_hash, session_id, created_at, "
               "expires_at) VALUES (?, ?, ?, ?)",
               {value::text(new_hash), value::text(s.id), value::integer(now),
                value::integer(expires)}));
}

/// After a rotation committed: the stored successor is due for erasure and
/// the index follows the new token.
void rotated(self_ptr self, live_session& s, const std::string& old_hash,
             const std::string& new_hash, std::int64_t now,
             std::int64_t expires) {
  if (self->state.cfg().tokens.refresh_grace > 0)
    keep_successor_until_grace_ends(self, now, old_hash);
  self->state.by_refresh.erase(old_hash);
  s.refresh_hash = new_hash;
  self->state.by_refresh[new_hash] = s.id;
  s.expires_at = expires;
  s.last_seen_at = now;
}

/// Rotates the live refresh token of `s` and answers every waiter.
void rotate(self_ptr self, const std::string& session_id,
            const refresh_request& req) {
  auto& s = self->state.sessions.at(session_id);
  const auto& cfg = self->state.cfg();
  auto now = unix_now();
  auto old_hash = s.refresh_hash;
  auto successor = auth::random_token(32);
  auto new_hash = auth::token_hash(successor);
  auto expires = std::min(now + cfg.tokens.refresh_ttl, s.absolute_expires_at);
  // The successor is kept (encrypted) for the grace window, so a second tab
  // presenting the old token gets the same one instead of a reuse alarm.
  db::unit u;
  append_rotation(self, u, s, successor, new_hash, now, expires,
                  "invalid_refresh_token");
  u.statements.push_back(db::stmt_one(
      "UPDATE sessions SET last_seen_at = ?, expires_at = ?, ip = ?, "
      "user_agent = ? WHERE id = ? AND revoked_at IS NULL",
      {value::integer(now), value::integer(expires), value::text(req.ip),
       value::text(req.user_agent.substr(0, 512)), value::text(s.id)},
      "invalid_refresh_token"));
  u.statements.push_back(db::stmt_one(
      "SELECT id, email, display_name, locale, created_at, disabled "
      "FROM users WHERE id = ? AND disabled = 0",
      {value::text(s.user_id)}, "user_disabled"));
  s.rotating = true;
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, session_id, old_hash, new_hash, successor, expires, req,
           now](db::unit_result& r) {
            auto it = self->state.sessions.find(session_id);
            if (it == self->state.sessions.end())
              return; // revoked meanwhile; its waiters were answered then
            auto& s = it->second;
            auto waiters = std::move(s.waiters);
            s.waiters.clear();
            s.rotating = false;
            if (!r.ok) {
              for (auto& w : waiters)
                w.deliver(fail("invalid_refresh_token"));
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
            rotated(self, s, old_hash, new_hash, now, expires);
            s.ip = req.ip;
            s.user_agent = req.user_agent.substr(0, 512);
            auto user = db::users_store::decode_user(r.results[3]);
            s.user = user;
            token_result out;
            out.tokens = make_response(self, s, successor, user, now);
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
            auto waiters = std::move(it->second.waiters);
            it->second.waiters.clear();
            it->second.rotating = false;
            for (auto& w : waiters)
              w.deliver(fail("service_unavailable"));
          });
}

/// A refresh token that is not the live one of any session: unknown, from a
/// dead session, a replay within the grace window, or a reuse.
void refresh_old(self_ptr self, const std::string& hash,
                 const refresh_request& req,
                 caf::typed_response_promise<token_result> rp) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::stmt("SELECT r.session_id, r.replaced_at, r.replaced_by, "
                         "r.successor_enc, u.id, u.email, u.display_name, "
                         "u.locale, u.created_at, u.disabled "
                         "FROM refresh_tokens r JOIN sessions s ON s.id = "
                         "r.session_id JOIN users u ON u.id = s.user_id "
                         "WHERE r.token_hash = ?",
                         {value::text(hash)}))
      .then(
          [self, hash, req, rp](db::rowset& rs) mutable {
            if (rs.empty() || rs.at(0, "replaced_at").is_null()) {
              rp.deliver(fail("invalid_refresh_token"));
              return;
            }
            auto session_id = rs.at(0, "session_id").s;
            auto it = self->state.sessions.find(session_id);
            if (it == self->state.sessions.end()) {
              rp.deliver(fail("invalid_refresh_token"));
              return;
            }
            auto& s = it->second;
            auto now = unix_now();
            auto replaced_at = rs.at(0, "replaced_at").i;
            bool in_grace
                = now - replaced_at < self->state.cfg().tokens.refresh_grace
                  && rs.at(0, "replaced_by").s == s.refresh_hash;
            if (in_grace) {
              auto successor = auth::secret_box::open(
                  self->state.opts.keys->payloads,
                  auth::to_bytes(rs.at(0, "successor_enc").s), hash);
              if (successor && rs.at(0, "disabled").i == 0) {
                token_result out;
                out.tokens = make_response(self, s, auth::to_string(*successor),
                                           db::users_store::decode_user(rs), now);
                {
                  rp.deliver(out);
                  return;
                }
              }
            }
            // An old token after its grace window: someone holds a copy. Kill
            // the whole family so neither copy works any more.
            audit(self, "session.refresh_token_reused", s.user_id, req.ip,
                  req.user_agent, false,
                  {{"session_id", session_id},
                   {"replaced_seconds_ago", now - replaced_at}});
            log::warn("sessions", "refresh-token-reused",
                      {{"session_id", session_id},
                       {"user_id", s.user_id},
                       {"replaced_seconds_ago", now - replaced_at}});
            revoke_ids(self, {session_id},
                       revocation{{},
                                  {},
                                  {},
                                  "refresh_token_reused",
                                  req.ip,
                                  req.user_agent,
                                  {},
                                  {}},
                       [rp](std::int32_t) mutable {
                         rp.deliver(fail("refresh_token_reused"));
                       });
          },
          [rp](caf::error&) mutable {
            rp.deliver(fail("service_unavailable"));
          });
}

/// Opens a new session for a user who just signed in.
void create_session(self_ptr self, new_session req,
                    caf::typed_response_promise<token_result> rp) {
  auto& st = self->state;
  const auto& cfg = st.cfg();
  auto now = unix_now();
  live_session s;
  s.id = auth::uuid_v4();
  s.user_id = req.user.id;
  s.user = req.user;
  s.amr = req.amr;
  s.ip = req.ip;
  s.user_agent = req.user_agent.substr(0, 512);
  s.created_at = now;
  s.last_seen_at = now;
  s.auth_time = now;
  s.absolute_expires_at = now + cfg.tokens.refresh_absolute_ttl;
  s.expires_at = std::min(now + cfg.tokens.refresh_ttl, s.absolute_expires_at);
  auto refresh = auth::random_token(32);
  s.refresh_hash = auth::token_hash(refresh);
  db::unit u;
  u.statements.push_back(db::stmt(
      "INSERT INTO sessions(id, user_id, amr, ip, user_agent, "
      "created_at, last_seen_at, expires_at, absolute_expires_at, "
      "auth_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {value::text(s.id), value::text(s.user_id), value::text(amr_json(s.amr)),
       value::text(s.ip), value::text(s.user_agent), value::integer(now),
       value::integer(now), value::integer(s.expires_at),
       value::integer(s.absolute_expires_at), value::integer(now)}));
  u.statements.push_back(
      db::stmt("INSERT INTO refresh_tokens(token_hash, session_id, created_at, "
               "expires_at) VALUES (?, ?, ?, ?)",
               {value::text(s.refresh_hash), value::text(s.id),
                value::integer(now), value::integer(s.expires_at)}));
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, rp, s, refresh, user = req.user,
           now](db::unit_result& r) mutable {
            if (!r.ok) {
              rp.deliver(fail("internal_error"));
              return;
            }
            token_result out;
            out.tokens = make_response(self, s, refresh, user, now);
            // Audit before index() moves the session away.
            audit(self, "session.created", s.user_id, s.ip, s.user_agent, true,
                  {{"session_id", s.id}, {"amr", s.amr}});
            self->state.index(std::move(s));
            caf::anon_send(self->state.metrics,
                           metrics::inc("sessions_created_total"));
            set_active_gauge(self);
            rp.deliver(std::move(out));
          },
          [rp](caf::error&) mutable {
            rp.deliver(fail("service_unavailable"));
          });
}

/// Re-authenticates a live session of the user who just signed in again
/// while holding its access token: a new auth_time and amr, the same id. Its
/// refresh token rotates as on a refresh (the old one gets the grace window
/// and then counts as reused), so the token response is a full one.
/// Refreshes that arrive meanwhile wait and receive the same successor.
void reauthenticate(self_ptr self, const std::string& session_id,
                    new_session req,
                    caf::typed_response_promise<token_result> rp) {
  auto& s = self->state.sessions.at(session_id);
  const auto& cfg = self->state.cfg();
  auto now = unix_now();
  auto old_hash = s.refresh_hash;
  auto successor = auth::random_token(32);
  auto new_hash = auth::token_hash(successor);
  auto expires = std::min(now + cfg.tokens.refresh_ttl, s.absolute_expires_at);
  auto ua = req.user_agent.substr(0, 512);
  db::unit u;
  append_rotation(self, u, s, successor, new_hash, now, expires,
                  "session_gone");
  u.statements.push_back(db::stmt_one(
      "UPDATE sessions SET auth_time = ?, amr = ?, last_seen_at = ?, "
      "expires_at = ?, ip = ?, user_agent = ? WHERE id = ? AND revoked_at IS "
      "NULL",
      {value::integer(now), value::text(amr_json(req.amr)), value::integer(now),
       value::integer(expires), value::text(req.ip), value::text(ua),
       value::text(s.id)},
      "session_gone"));
  s.rotating = true;
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, rp, session_id, old_hash, new_hash, successor, expires, req,
           ua, now](db::unit_result& r) mutable {
            auto it = self->state.sessions.find(session_id);
            if (it == self->state.sessions.end() || !r.ok) {
              // Revoked meanwhile: the sign-in itself succeeded, so it
              // gets a session of its own.
              if (it != self->state.sessions.end()) {
                auto waiters = std::move(it->second.waiters);
                it->second.waiters.clear();
                it->second.rotating = false;
                for (auto& w : waiters)
                  w.deliver(fail("invalid_refresh_token"));
              }
              return create_session(self, std::move(req), rp);
            }
            auto& s = it->second;
            auto waiters = std::move(s.waiters);
            s.waiters.clear();
            s.rotating = false;
            rotated(self, s, old_hash, new_hash, now, expires);
            s.auth_time = now;
            s.amr = req.amr;
            s.ip = req.ip;
            s.user_agent = ua;
            s.user = req.user;
            token_result out;
            out.tokens = make_response(self, s, successor, req.user, now);
            audit(self, "session.reauthenticated", s.user_id, s.ip,
                  s.user_agent, true,
                  {{"session_id", session_id}, {"amr", s.amr}});
            for (auto& w : waiters)
              w.deliver(out);
            rp.deliver(std::move(out));
          },
          [self, rp, session_id](caf::error&) mutable {
            auto it = self->state.sessions.find(session_id);
            if (it != self->state.sessions.end()) {
              auto waiters = std::move(it->second.waiters);
              it->second.waiters.clear();
              it->second.rotating = false;
              for (auto& w : waiters)
                w.deliver(fail("service_unavailable"));
            }
            rp.deliver(fail("service_unavailable"));
          });
}

void tick(self_ptr self) {
  auto now = unix_now();
  auto& st = self->state;
  std::vector<std::string> expired;
  for (const auto& [id, s] : st.sessions)
    if (s.expires_at <= now || s.absolute_expires_at <= now)
      expired.push_back(id);
  for (const auto& id : expired)
    st.forget(id);
  if (!expired.empty())
    set_active_gauge(self);
  db::unit purge;
  auto t = value::integer(now);
  purge.statements = {
      db::stmt("DELETE FROM email_flows WHERE expires_at < ?",
               {value::integer(now - 86400)}),
      db::stmt("DELETE FROM exchange_codes WHERE expires_at < ?", {t}),
      db::stmt("DELETE FROM webauthn_challenges WHERE expires_at < ?", {t}),
      db::stmt(
          "DELETE FROM sessions WHERE absolute_expires_at < ? OR "
          "expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)",
          {t, value::integer(now - 86400), value::integer(now - 30 * 86400)}),
      db::stmt("DELETE FROM refresh_tokens WHERE expires_at < ?",
               {value::integer(now - 86400)}),
      db::stmt("DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND "
               "expires_at < ?",
               {value::integer(now - 86400)}),
  };
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(purge))
      .then([](db::unit_result&) {},
            [](caf::error& e) {
              log::warn("sessions", "purge-failed",
                        {{"error", caf::to_string(e)}});
            });
  // Keys rotated by `passwordless-auth keys rotate` show up here.
  self->request(st.db, db_timeout, atom::query_atom_v,
                db::stmt(load_keys_sql, {t}))
      .then([self](db::rowset& rs) { merge_keys(self, rs); },
            [](caf::error&) {});
  auto period = std::min<std::int64_t>(st.opts.tick_seconds,
                                       st.cfg().tokens.key_reload_interval);
  self->delayed_send(self,
                     std::chrono::seconds(std::max<std::int64_t>(1, period)),
                     atom::tick_atom_v);
}

} // namespace

// -- session_state ------------------------------------------------------------

const stored_key* session_state::signing() const {
  for (auto it = keys.rbegin(); it != keys.rend(); ++it)
    if (it->retired_at == 0)
      return &*it;
  return nullptr;
}

const auth::signing_key* session_state::find_key(std::string_view kid) const {
  auto now = unix_now();
  for (const auto& k : keys)
    if (k.key.kid() == kid && (k.expires_at == 0 || k.expires_at > now))
      return &k.key;
  return nullptr;
}

void session_state::index(live_session&& s) {
  auto id = s.id;
  by_refresh[s.refresh_hash] = id;
  by_user[s.user_id].insert(id);
  sessions[id] = std::move(s);
}

void session_state::forget(const std::string& id) {
  auto it = sessions.find(id);
  if (it == sessions.end())
    return;
  by_refresh.erase(it->second.refresh_hash);
  auto u = by_user.find(it->second.user_id);
  if (u != by_user.end()) {
    u->second.erase(id);
    if (u->second.empty())
      by_user.erase(u);
  }
  // Refreshes waiting on this session's rotation lose with it.
  for (auto& w : it->second.waiters)
    w.deliver(fail("invalid_refresh_token"));
  sessions.erase(it);
}

std::string session_state::mint_access_token(const live_session& s,
                                             std::int64_t now) const {
  auth::access_token_params p;
  p.issuer = cfg().tokens.issuer;
  p.audience = cfg().tokens.audience;
  p.subject = s.user_id;
  p.session_id = s.id;
  p.issued_at = now;
  p.ttl = cfg().tokens.access_ttl;
  p.amr = s.amr;
  p.auth_time = s.auth_time;
  return auth::sign_jws({{"typ", "JWT"}}, auth::make_access_token_claims(p),
                        signing()->key);
}

auth_result session_state::verify(const std::string& token, std::int64_t now) {
  auth_result out;
  auth::jws_verify_options o;
  o.algorithms
      = {auth::jws_alg::es256, auth::jws_alg::rs256, auth::jws_alg::eddsa};
  o.now = now;
  o.leeway = 5;
  o.issuer = cfg().tokens.issuer;
  o.audience = cfg().tokens.audience;
  auto digest = auth::token_hash(token);
  auto cached = verified.find(digest);
  if (cached == verified.end() || cached->second.expires_at <= now) {
    if (cached != verified.end())
      verified.erase(cached);
    auto claims = auth::verify_jws(
        token, [&](std::string_view kid) { return find_key(kid); }, o);
    if (!claims) {
      out.error = "unauthorized";
      return out;
    }
    const auto& c = *claims;
    if (verified.size() >= 100000)
      verified.clear();
    auto iat = c.value("iat", std::int64_t{0});
    // A token minted before auth_time existed counts as signed in at iat.
    auto auth_time
        = c.contains("auth_time") && c["auth_time"].is_number_integer()
              ? c["auth_time"].get<std::int64_t>()
              : iat;
    cached = verified
                 .emplace(digest,
                          verified_token{c.value("sub", ""), c.value("sid", ""),
                                         iat, c.value("exp", std::int64_t{0}),
                                         c.value("jti", ""), auth_time})
                 .first;
  }
  const auto& v = cached->second;
  auto it = sessions.find(v.session_id);
  if (it == sessions.end() || it->second.user_id != v.user_id
      || it->second.absolute_expires_at <= now) {
    out.error = "unauthorized";
    return out;
  }
  it->second.last_seen_at = now;
  out.auth.user_id = v.user_id;
  out.auth.session_id = v.session_id;
  out.auth.amr = it->second.amr;
  out.auth.issued_at = v.issued_at;
  out.auth.expires_at = v.expires_at;
  out.auth.jti = v.jti;
  out.auth.session_created_at = it->second.created_at;
  out.auth.session_expires_at = it->second.expires_at;
  out.auth.user = it->second.user;
  out.auth.auth_time = v.auth_time;
  return out;
}

// -- behavior -----------------------------------------------------------------

session_actor::behavior_type
session_impl(session_actor::stateful_pointer<session_state> self,
             session_options opts, db_actor db, metrics_actor metrics) {
  self->state.opts = std::move(opts);
  self->state.db = std::move(db);
  self->state.metrics = std::move(metrics);
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
        if (!req.reauth_token.empty()) {
          auto v = st.verify(req.reauth_token, unix_now());
          if (v.error.empty() && v.auth.user_id == req.user.id) {
            auto it = st.sessions.find(v.auth.session_id);
            if (it != st.sessions.end() && !it->second.rotating) {
              reauthenticate(self, v.auth.session_id, std::move(req), rp);
              return rp;
            }
          }
        }
        create_session(self, std::move(req), rp);
        return rp;
      },
      [=](atom::refresh_atom,
          refresh_request& req) -> caf::result<token_result> {
        auto& st = self->state;
        if (!st.ready)
          return fail("service_unavailable");
        // Our refresh tokens are 43 base64url characters; anything else is
        // rejected without a database lookup.
        if (req.refresh_token.size() != 43
            || !auth::base64url_decode(req.refresh_token))
          return fail("invalid_refresh_token");
        auto hash = auth::token_hash(req.refresh_token);
        auto rp = self->make_response_promise<token_result>();
        auto it = st.by_refresh.find(hash);
        if (it == st.by_refresh.end()) {
          refresh_old(self, hash, req, rp);
          return rp;
        }
        auto session_id = it->second;
        auto& s = st.sessions.at(session_id);
        auto now = unix_now();
        if (s.expires_at <= now || s.absolute_expires_at <= now) {
          st.forget(session_id);
          set_active_gauge(self);
          return fail("invalid_refresh_token");
        }
        s.waiters.push_back(rp);
        if (!s.rotating)
          rotate(self, session_id, req);
        return rp;
      },
      [=](atom::verify_atom, const std::string& token) -> auth_result {
        return self->state.verify(token, unix_now());
      },
      [=](atom::list_atom, const std::string& user_id) {
        std::vector<session_view> out;
        auto& st = self->state;
        auto u = st.by_user.find(user_id);
        if (u == st.by_user.end())
          return out;
        for (const auto& id : u->second) {
          const auto& s = st.sessions.at(id);
          out.push_back(session_view{s.id, s.user_id, s.amr, s.ip, s.user_agent,
                                     s.created_at, s.last_seen_at,
                                     s.expires_at});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
          return a.created_at > b.created_at;
        });
        return out;
      },
      [=](atom::lookup_atom, const std::string& session_id) {
        std::vector<session_view> out;
        auto& st = self->state;
        auto it = st.sessions.find(session_id);
        if (it == st.sessions.end()
            || it->second.absolute_expires_at <= unix_now())
          return out;
        const auto& s = it->second;
        out.push_back(session_view{s.id, s.user_id, s.amr, s.ip, s.user_agent,
                                   s.created_at, s.last_seen_at, s.expires_at});
        return out;
      },
      [=](atom::revoke_atom,
          const revocation& rv) -> caf::result<std::int32_t> {
        auto& st = self->state;
        std::vector<std::string> ids;
        if (!rv.session_id.empty()) {
          auto it = st.sessions.find(rv.session_id);
          // Scoped to a user: someone else's session id is "not found".
          if (!rv.user_id.empty()
              && (it == st.sessions.end() || it->second.user_id != rv.user_id))
            return std::int32_t{0};
          ids.push_back(rv.session_id);
        } else if (auto u = st.by_user.find(rv.user_id);
                   u != st.by_user.end()) {
          for (const auto& id : u->second)
            if (id != rv.except_session)
              ids.push_back(id);
        }
        if (rv.session_id.empty() && !rv.user_id.empty()) {
          // Also revoke rows that are not in memory (e.g. expired), so a
          // disabled or deleted account has nothing left to refresh.
          auto rp = self->make_response_promise<std::int32_t>();
          revoke_ids(self, ids, rv, [self, rp, rv](std::int32_t n) mutable {
            db::unit u;
            u.statements.push_back(db::stmt(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
                "WHERE user_id = ? AND revoked_at IS NULL AND id != ?",
                {value::integer(unix_now()), value::text(rv.reason),
                 value::text(rv.user_id), value::text(rv.except_session)}));
            self->request(self->state.db, db_timeout, atom::write_atom_v,
                          std::move(u))
                .then([rp, n](db::unit_result&) mutable { rp.deliver(n); },
                      [rp, n](caf::error&) mutable { rp.deliver(n); });
          });
          return rp;
        }
        auto rp = self->make_response_promise<std::int32_t>();
        revoke_ids(self, ids, rv,
                   [rp](std::int32_t n) mutable { rp.deliver(n); });
        return rp;
      },
      [=](atom::jwks_atom) -> std::string {
        auto now = unix_now();
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& k : self->state.keys)
          if (k.expires_at == 0 || k.expires_at > now)
            keys.push_back(k.key.public_jwk());
        return nlohmann::json{{"keys", keys}}.dump();
      },
      [=](atom::rotate_atom) -> caf::result<std::string> {
        auto& st = self->state;
        auto key = auth::signing_key::generate(configured_alg(st.cfg()));
        auto kid = key.kid();
        auto unit = key_insert_unit(key, *st.opts.keys, unix_now(),
                                    st.cfg().tokens.access_ttl + 60);
        auto rp = self->make_response_promise<std::string>();
        self->request(st.db, db_timeout, atom::write_atom_v, std::move(unit))
            .then(
                [self, rp, kid](db::unit_result& r) mutable {
                  if (!r.ok) {
                    rp.deliver(caf::make_error(caf::sec::runtime_error,
                                               "key insert failed"));
                    return;
                  }
                  self->request(
                          self->state.db, db_timeout, atom::query_atom_v,
                          db::stmt(load_keys_sql, {value::integer(unix_now())}))
                      .then(
                          [self, rp, kid](db::rowset& rs) mutable {
                            merge_keys(self, rs);
                            log::info("sessions", "signing-key-rotated",
                                      {{"kid", kid}});
                            audit(self, "keys.rotated", {}, {}, {}, true,
                                  {{"kid", kid}});
                            rp.deliver(kid);
                          },
                          [rp](caf::error& e) mutable {
                            rp.deliver(std::move(e));
                          });
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](atom::ready_atom) { return self->state.ready; },
      [=](const user_info& u) {
        auto& st = self->state;
        if (auto it = st.by_user.find(u.id); it != st.by_user.end())
          for (const auto& id : it->second)
            st.sessions.at(id).user = u;
      },
      [=](atom::load_atom) {
        if (!self->state.ready)
          load(self);
      },
      [=](atom::tick_atom) { tick(self); },
      [=](atom::purge_atom) { scrub_successors(self); },
  };
}

std::string rotate_signing_key_offline(const config::settings& cfg,
                                       const key_ring& keys) {
  db::sqlite_executor ex(cfg.database.path, cfg.database.synchronous,
                         static_cast<int>(cfg.database.busy_timeout_ms));
  ex.migrate(db::embedded_migrations());
  auto key = auth::signing_key::generate(configured_alg(cfg));
  ex.begin();
  auto r = ex.run(
      key_insert_unit(key, keys, unix_now(), cfg.tokens.access_ttl + 60));
  if (!r.ok) {
    ex.rollback();
    throw std::runtime_error("cannot store the new key: " + r.fail_code);
  }
  ex.commit();
  return key.kid();
}

} // namespace authsvc
