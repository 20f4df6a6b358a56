// Browser sessions (issue 16): a live session that a browser holds through
// the `__Host-pa_session` cookie. It is an ordinary session (listed,
// revoked, idle timeout, sessions per user); on top it has the hash of its
// cookie secret. Its refresh token is never handed out: using the cookie
// is what keeps the session alive (activity restarts the idle time and
// moves the sliding expiry, as a refresh does for API sessions).
#include "actors/session_internal.hpp"

#include "actors/db_timeout.hpp"
#include "auth/browser_cookie.hpp"
#include "core/log.hpp"

namespace authsvc::session_detail {

namespace store = db::sessions_store;

namespace {

/// Activity is written at most this often (seconds): a page that polls
/// must not turn every request into a database write. The idle timeout
/// after a restart is off by at most this much.
constexpr std::int64_t activity_write_interval = 60;

browser_result refuse(std::string code) {
  browser_result r;
  r.error = std::move(code);
  return r;
}

browser_result result_of(const live_session& s) {
  browser_result r;
  r.auth.user_id = s.user_id;
  r.auth.session_id = s.id;
  r.auth.amr = s.amr;
  r.auth.session_created_at = s.created_at;
  r.auth.session_expires_at = s.expires_at;
  r.auth.user = s.user;
  r.auth.auth_time = s.auth_time;
  r.absolute_expires_at = s.absolute_expires_at;
  return r;
}

} // namespace

caf::result<browser_result> bind_browser(self_ptr self,
                                         const browser_bind& req) {
  auto& st = self->state;
  auto it = st.sessions.find(req.session_id);
  if (it == st.sessions.end() || !it->second.browser_hash.empty()
      || req.secret_hash.size() != 64)
    return refuse("unauthorized");
  auto now = st.now();
  auto rp = self->make_response_promise<browser_result>();
  self->request(st.db, db_timeout, atom::write_atom_v,
                store::bind_browser(req.session_id, req.secret_hash, now,
                                    it->second.absolute_expires_at))
      .then(
          [self, rp, req, now](db::unit_result& r) mutable {
            auto& st = self->state;
            auto it = st.sessions.find(req.session_id);
            if (!r.ok || it == st.sessions.end()) {
              // Revoked while the row was written: nothing to hold.
              rp.deliver(refuse(r.ok || r.fail_code == "session_gone"
                                    ? "unauthorized"
                                    : "service_unavailable"));
              return;
            }
            it->second.browser_hash = req.secret_hash;
            it->second.browser_written_at = now;
            audit(self, "session.browser_bound", it->second.user_id,
                  it->second.ip, it->second.user_agent, true,
                  {{"session_id", req.session_id}});
            rp.deliver(result_of(it->second));
          },
          [rp](caf::error&) mutable {
            rp.deliver(refuse("service_unavailable"));
          });
  return rp;
}

namespace {

/// lookup_browser once the session is in memory (or known not to be).
browser_result resolve_browser(self_ptr self, const browser_lookup& req) {
  auto& st = self->state;
  if (!st.ready)
    return refuse("service_unavailable");
  auto it = st.sessions.find(req.session_id);
  // Same answer for an unknown session, a session that is not a browser
  // session, and a wrong secret.
  if (it == st.sessions.end()
      || !auth::browser_secret_matches(req.secret, it->second.browser_hash))
    return refuse("unauthorized");
  auto& s = it->second;
  auto now = st.now();
  if (s.expires_at <= now || s.absolute_expires_at <= now) {
    st.forget(req.session_id);
    set_active_gauge(self);
    return refuse("unauthorized");
  }
  if (st.idle(s, now)) {
    st.found_idle.push_back(req.session_id);
    end_idle(self);
    return refuse("unauthorized");
  }
  // Activity: as a refresh does for an API session.
  s.refreshed_at = now;
  s.last_seen_at = now;
  s.expires_at
      = std::min(now + st.cfg().tokens.refresh_ttl, s.absolute_expires_at);
  if (now - s.browser_written_at >= activity_write_interval) {
    s.browser_written_at = now;
    db::unit u;
    u.statements.push_back(store::touch_browser(s.id, now, s.expires_at));
    self->request(st.db, db_timeout, atom::write_atom_v, std::move(u))
        .then([](db::unit_result&) {},
              [](caf::error& e) {
                log::warn("sessions", "browser-touch-failed",
                          {{"error", caf::to_string(e)}});
              });
  }
  auto out = result_of(s);
  if (req.mint_access_token) {
    if (!st.signing())
      return refuse("service_unavailable");
    out.access_token = st.mint_access_token(s, now);
    out.expires_in = st.cfg().tokens.access_ttl;
  }
  return out;
}

} // namespace

caf::result<browser_result> lookup_browser(self_ptr self,
                                           const browser_lookup& req) {
  auto& st = self->state;
  if (!st.ready || !st.shared() || st.sessions.count(req.session_id))
    return resolve_browser(self, req);
  // Several nodes (issue 14): the browser may have signed in on another
  // node; its session is read once (ensure_session: concurrent misses share
  // the read, an id found not live is remembered as such). The id comes
  // from an unsigned cookie, so a made-up one costs one primary-key read;
  // the secret is checked against the row afterwards as always.
  auto rp = self->make_response_promise<browser_result>();
  ensure_session(self, req.session_id, [self, req, rp]() mutable {
    rp.deliver(resolve_browser(self, req));
  });
  return rp;
}

} // namespace authsvc::session_detail
