// Session policies and custom claims (issue 17): the idle timeout
// (auth.session_idle_timeout: a session without a refresh for that long is
// revoked the moment anything checks it, and by the periodic tick), the cap
// on live sessions per user (auth.session_max_per_user: the oldest go when
// a sign-in would exceed it, with a notice), and the app_metadata read that
// feeds custom access-token claims (auth.access_token_claims). Every path
// that opens, refreshes or checks a session runs through the session actor,
// so HTTP and the CAF API are held to the same rules.
#include "actors/session_internal.hpp"

#include <algorithm>
#include <tuple>

#include "actors/db_timeout.hpp"
#include "actors/mail_job.hpp"
#include "auth/cross_device.hpp"
#include "core/log.hpp"
#include "core/utc_time.hpp"
#include "mail/locale.hpp"

namespace authsvc::session_detail {

namespace store = db::sessions_store;

// -- custom claims
// --------------------------------------------------------------

std::size_t append_claims_read(self_ptr self, db::unit& u,
                               const std::string& user_id) {
  if (self->state.claims.empty())
    return std::string::npos;
  u.statements.push_back(db::users_store::metadata_of(user_id));
  return u.statements.size() - 1;
}

void take_claims(self_ptr self, live_session& s, const db::unit_result& r,
                 std::size_t i) {
  if (i == std::string::npos || i >= r.results.size())
    return;
  auto m = db::users_store::decode_metadata(r.results[i]);
  s.custom_claims
      = m ? auth::resolve_claims(self->state.claims, m->app_metadata)
          : nlohmann::json::object();
}

// -- idle timeout
// ---------------------------------------------------------------

void end_idle(self_ptr self) {
  auto& st = self->state;
  if (st.found_idle.empty())
    return;
  auto ids = std::move(st.found_idle);
  st.found_idle.clear();
  if (st.shared()) {
    // Several nodes (issue 14): a copy not read this second may be stale
    // (refreshed on another node); read it again, and end it only if it is
    // still idle then.
    auto now = st.now();
    std::vector<std::string> sure;
    for (const auto& id : ids) {
      auto it = st.sessions.find(id);
      if (it == st.sessions.end())
        continue;
      if (it->second.read_at + 1 >= now) {
        sure.push_back(id);
        continue;
      }
      ensure_session(
          self, id,
          [self, id] {
            auto& st = self->state;
            auto it = st.sessions.find(id);
            if (it != st.sessions.end() && it->second.read_at + 1 >= st.now()
                && st.idle(it->second, st.now())) {
              st.found_idle.push_back(id);
              end_idle(self);
            }
          },
          true);
    }
    ids = std::move(sure);
    if (ids.empty())
      return;
  }
  for (const auto& id : ids)
    if (auto it = st.sessions.find(id); it != st.sessions.end())
      log::info("sessions", "session-idle-timeout",
                {{"session_id", id},
                 {"idle_seconds", st.now() - it->second.refreshed_at}});
  revoke_ids(self, ids, revocation{{}, {}, {}, "idle_timeout", {}, {}, {}, {}},
             [](std::int32_t) {});
}

// -- sessions per user
// ----------------------------------------------------------

namespace {

/// The notice of an eviction: one mail to the user, in the unit that
/// revokes, so it exists exactly when the revocation does.
db::statement eviction_mail(self_ptr self, const user_info& user,
                            std::int32_t count, std::int64_t limit,
                            const std::string& ip,
                            const std::string& user_agent) {
  const auto& cfg = self->state.cfg();
  auto now = self->state.now();
  nlohmann::json vars = {{"time", utc_time(now)},
                         {"count", std::to_string(count)},
                         {"limit", std::to_string(limit)}};
  if (!user.display_name.empty())
    vars["display_name"] = user.display_name;
  if (!ip.empty())
    vars["ip"] = ip;
  if (auto device = auth::display_user_agent(user_agent); !device.empty())
    vars["device"] = device;
  return mail_job_insert(
      cfg, *self->state.opts.keys,
      {user.email, "session_evicted",
       mail::choose_locale("", user.locale, "", cfg.mail.default_locale),
       std::move(vars)},
      now);
}

} // namespace

void enforce_session_limit(self_ptr self, const std::string& user_id,
                           const std::string& fresh_id, const std::string& ip,
                           const std::string& user_agent) {
  auto& st = self->state;
  auto limit = st.cfg().auth.session_max_per_user;
  auto u = st.by_user.find(user_id);
  // The fresh session may be gone already when the user's other sessions
  // were read first (revoked meanwhile): nothing to make room for.
  if (limit <= 0 || u == st.by_user.end() || !st.sessions.count(fresh_id))
    return;
  auto now = st.now();
  // Idle sessions are over anyway: they go first, as idle, and do not count.
  // The .at() below are guarded: by_user only names cached sessions
  // (session_state::index/forget), and fresh_id was indexed by the caller
  // in this same message.
  for (const auto& id : u->second)
    if (st.idle(st.sessions.at(id), now))
      st.found_idle.push_back(id);
  end_idle(self);
  u = st.by_user.find(user_id);
  if (u == st.by_user.end()
      || static_cast<std::int64_t>(u->second.size()) <= limit)
    return;
  std::vector<const live_session*> others;
  for (const auto& id : u->second)
    if (id != fresh_id)
      others.push_back(&st.sessions.at(id));
  // Oldest first: by creation, then by order of opening within a second.
  std::sort(others.begin(), others.end(), [](const auto* a, const auto* b) {
    return std::tie(a->created_at, a->seq) < std::tie(b->created_at, b->seq);
  });
  auto excess = static_cast<std::size_t>(
      static_cast<std::int64_t>(u->second.size()) - limit);
  std::vector<std::string> evicted;
  for (std::size_t i = 0; i < excess && i < others.size(); ++i)
    evicted.push_back(others[i]->id);
  if (evicted.empty())
    return;
  auto user = st.sessions.at(fresh_id).user;
  db::unit w;
  // Out of the cache at once: their access tokens fail from this moment.
  auto n = forget_revoked(
      self, evicted,
      revocation{{}, {}, {}, "session_max_per_user", ip, user_agent, {}, {}},
      "session.evicted", w, {{"limit", limit}, {"new_session_id", fresh_id}});
  w.statements.push_back(eviction_mail(self, user, n, limit, ip, user_agent));
  log::info("sessions", "sessions-evicted",
            {{"user_id", user_id}, {"count", n}, {"limit", limit}});
  caf::anon_send(st.metrics, metrics::inc("sessions_evicted_total", {}, n));
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(w))
      .then(
          [self](db::unit_result& r) {
            if (!r.ok) {
              log::error("sessions", "eviction-write-failed",
                         {{"code", r.fail_code}});
              return;
            }
            if (self->state.opts.mailer)
              caf::anon_send(self->state.opts.mailer, atom::wake_atom_v);
          },
          [](caf::error& e) {
            log::error("sessions", "eviction-write-failed",
                       {{"error", caf::to_string(e)}});
          });
}

} // namespace authsvc::session_detail
