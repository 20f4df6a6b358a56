// Revocation: effective in memory the moment it is processed (verify and
// refresh consult memory), then written through; revoking all of a user's
// sessions also revokes the stored ones that are no longer in memory.
#include "actors/session_internal.hpp"

#include "actors/db_timeout.hpp"
#include "core/log.hpp"

namespace authsvc::session_detail {

namespace store = db::sessions_store;

std::int32_t forget_revoked(self_ptr self, const std::vector<std::string>& ids,
                            const revocation& origin,
                            const std::string& audit_type, db::unit& u,
                            const nlohmann::json& extra) {
  const auto& reason = origin.reason;
  auto now = self->state.now();
  std::int32_t live = 0;
  for (const auto& id : ids) {
    if (auto it = self->state.sessions.find(id);
        it != self->state.sessions.end()) {
      nlohmann::json meta = {{"session_id", id}, {"reason", reason}};
      if (extra.is_object())
        meta.update(extra);
      audit(self, audit_type, it->second.user_id, origin.ip, origin.user_agent,
            true, meta, origin.request_id, origin.actor);
      self->state.forget(id);
      ++live;
    }
    store::append_revoke(u, id, now, reason);
  }
  if (live > 0) {
    caf::anon_send(self->state.metrics,
                   metrics::inc("sessions_revoked_total", {}, live));
    set_active_gauge(self);
  }
  return live;
}

void revoke_ids(self_ptr self, const std::vector<std::string>& ids,
                const revocation& origin,
                const std::function<void(std::int32_t)>& done) {
  db::unit u;
  auto live = forget_revoked(self, ids, origin, "session.revoked", u);
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

namespace {

/// Revokes what `rv` names among the sessions in memory (and, for all of a
/// user's, the stored rest); `done(count of live ones)` after the commit.
void revoke_held(self_ptr self, const revocation& rv,
                 const std::function<void(std::int32_t)>& done) {
  auto& st = self->state;
  std::vector<std::string> ids;
  if (!rv.session_id.empty()) {
    auto it = st.sessions.find(rv.session_id);
    // Scoped to a user: someone else's session id is "not found".
    if (!rv.user_id.empty()
        && (it == st.sessions.end() || it->second.user_id != rv.user_id))
      return done(0);
    ids.push_back(rv.session_id);
  } else if (auto u = st.by_user.find(rv.user_id); u != st.by_user.end()) {
    for (const auto& id : u->second)
      if (id != rv.except_session)
        ids.push_back(id);
  }
  if (rv.session_id.empty() && !rv.user_id.empty()) {
    // Also revoke rows that are not in memory (e.g. expired), so a
    // disabled or deleted account has nothing left to refresh.
    revoke_ids(self, ids, rv, [self, done, rv](std::int32_t n) {
      db::unit u;
      u.statements.push_back(store::revoke_rest_of_user(
          rv.user_id, rv.except_session, self->state.now(), rv.reason));
      // Their browser cookie secrets go with them (issue 16).
      u.statements.push_back(store::purge_browser_secrets());
      self->request(self->state.db, db_timeout, atom::write_atom_v,
                    std::move(u))
          .then([done, n](db::unit_result&) { done(n); },
                [done, n](caf::error&) { done(n); });
    });
    return;
  }
  revoke_ids(self, ids, rv, done);
}

} // namespace

caf::result<std::int32_t> revoke(self_ptr self, const revocation& rv) {
  auto rp = self->make_response_promise<std::int32_t>();
  auto go = [self, rv, rp]() mutable {
    revoke_held(self, rv, [rp](std::int32_t n) mutable { rp.deliver(n); });
  };
  // Several nodes (issue 14): sessions opened on other nodes are read
  // first, so they are audited and counted here too; the other nodes learn
  // of the revocation through the change table. On SQLite both run at once.
  if (!rv.session_id.empty())
    ensure_session(self, rv.session_id, go);
  else
    ensure_user_sessions(self, rv.user_id, go);
  return rp;
}

} // namespace authsvc::session_detail
