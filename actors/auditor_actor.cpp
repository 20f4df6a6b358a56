#include "actors/auditor_actor.hpp"

#include <chrono>

#include "actors/db_timeout.hpp"
#include "auth/crypto.hpp"
#include "core/log.hpp"
#include "db/audit_store.hpp"

namespace authsvc {

namespace {

using self_ptr = auditor_actor::stateful_pointer<auditor_state>;

constexpr auto flush_period = std::chrono::milliseconds(200);
constexpr std::size_t batch_limit = 500;

/// Purges and erasures may touch many rows: they wait longer than a batch.
constexpr auto maintenance_timeout = std::chrono::seconds(30);

/// Writes up to one batch; more batches follow until the buffer is empty.
void flush(self_ptr self) {
  auto& st = self->state;
  if (st.writing)
    return;
  if (st.buffer.empty()) {
    for (auto& w : st.flush_waiters)
      w.deliver(std::int32_t{0});
    st.flush_waiters.clear();
    return;
  }
  auto n = std::min(batch_limit, st.buffer.size());
  db::unit u;
  for (std::size_t i = 0; i < n; ++i)
    u.statements.push_back(db::audit_store::insert(st.buffer[i]));
  st.writing = true;
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, n](db::unit_result& r) {
            auto& st = self->state;
            st.writing = false;
            if (!r.ok) {
              // A batch the database refuses would block the trail forever:
              // count it as lost, loudly, and go on.
              log::error("auditor", "audit-batch-rejected",
                         {{"events", n}, {"code", r.fail_code}});
              caf::anon_send(st.metrics,
                             metrics::inc("audit_events_dropped_total", {},
                                          static_cast<double>(n)));
            } else {
              for (const auto& l : st.commit_listeners)
                caf::anon_send(l, atom::wake_atom_v);
            }
            st.buffer.erase(st.buffer.begin(),
                            st.buffer.begin() + static_cast<long>(n));
            if (!st.buffer.empty())
              return flush(self);
            auto waiters = std::move(st.flush_waiters);
            st.flush_waiters.clear();
            for (auto& w : waiters)
              w.deliver(static_cast<std::int32_t>(n));
          },
          [self](caf::error& e) {
            // Keep the events and try again on the next tick.
            self->state.writing = false;
            log::warn("auditor", "audit-write-failed",
                      {{"error", caf::to_string(e)}});
          });
}

void purge(self_ptr self) {
  const auto& st = self->state;
  auto cutoff = st.clock->unix_seconds() - st.cfg->audit.retention_days * 86400;
  db::unit u;
  u.statements.push_back(db::audit_store::purge_before(cutoff));
  self->request(self->state.db, maintenance_timeout, atom::write_atom_v,
                std::move(u))
      .then(
          [](db::unit_result& r) {
            if (r.ok && !r.results.empty() && r.results[0].changes > 0)
              log::info("auditor", "audit-purged",
                        {{"deleted", r.results[0].changes}});
          },
          [](caf::error&) {});
  self->delayed_send(self, std::chrono::hours(1), atom::purge_atom_v);
}

/// Erases the personal data of a deleted account from the trail: the
/// address becomes its hash (as with audit.hash_emails), the user agent
/// goes; type, time, user id, IP and request id stay (security records,
/// kept for audit.retention_days). Events still buffered are rewritten, and
/// the rewrite is queued behind any batch being written, so rows inserted
/// from the buffer before this message are covered too.
void forget(self_ptr self, const std::string& user_id,
            const std::string& email) {
  auto& st = self->state;
  if (user_id.empty() && email.empty())
    return;
  auto hashed
      = email.empty() ? std::string{} : "sha256:" + auth::token_hash(email);
  for (auto& e : st.buffer) {
    bool named = (!user_id.empty() && e.user_id == user_id)
                 || (!email.empty() && (e.email == email || e.email == hashed));
    if (!named)
      continue;
    if (!email.empty() && e.email == email)
      e.email = hashed;
    e.user_agent.clear();
  }
  db::unit u;
  u.statements.push_back(
      db::audit_store::forget_account(user_id, email, hashed));
  self->request(st.db, maintenance_timeout, atom::write_atom_v, std::move(u))
      .then(
          [user_id](db::unit_result& r) {
            if (!r.ok || r.results.empty()) {
              log::error("auditor", "audit-forget-failed",
                         {{"user_id", user_id}, {"code", r.fail_code}});
              return;
            }
            log::info("auditor", "audit-account-forgotten",
                      {{"user_id", user_id}, {"rows", r.results[0].changes}});
          },
          [user_id](caf::error& e) {
            log::error("auditor", "audit-forget-failed",
                       {{"user_id", user_id}, {"error", caf::to_string(e)}});
          });
}

} // namespace

auditor_actor::behavior_type
auditor_impl(auditor_actor::stateful_pointer<auditor_state> self,
             std::shared_ptr<const config::settings> cfg, db_actor db,
             metrics_actor metrics) {
  return auditor_with_clock(self, std::move(cfg), std::move(db),
                            std::move(metrics), real_clock());
}

auditor_actor::behavior_type
auditor_with_clock(auditor_actor::stateful_pointer<auditor_state> self,
                   std::shared_ptr<const config::settings> cfg, db_actor db,
                   metrics_actor metrics, clock_ptr clock) {
  self->state.clock = std::move(clock);
  self->state.cfg = std::move(cfg);
  self->state.db = std::move(db);
  self->state.metrics = std::move(metrics);
  self->delayed_send(self, flush_period, atom::tick_atom_v);
  self->delayed_send(self, std::chrono::seconds(5), atom::purge_atom_v);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const audit_subscriber& s) {
                                return s.address() == dm.source;
                              }),
               subs.end());
    auto& ls = self->state.commit_listeners;
    ls.erase(std::remove_if(ls.begin(), ls.end(),
                            [&](const audit_commit_listener& l) {
                              return l.address() == dm.source;
                            }),
             ls.end());
  });
  return {
      [=](audit_event& e) {
        auto& st = self->state;
        if (e.created_at == 0)
          e.created_at = st.clock->unix_seconds();
        if (st.cfg->audit.hash_emails && !e.email.empty())
          e.email = "sha256:" + auth::token_hash(e.email);
        // Subscribers get a copy; a slow one only fills its own mailbox.
        for (const auto& s : st.subscribers)
          caf::anon_send(s, e);
        if (st.buffer.size() >= st.cfg->audit.queue_limit) {
          caf::anon_send(st.metrics,
                         metrics::inc("audit_events_dropped_total"));
          log::error("auditor", "audit-event-dropped", {{"type", e.type}});
          return;
        }
        st.buffer.push_back(std::move(e));
        if (st.buffer.size() >= batch_limit)
          flush(self);
      },
      [=](atom::subscribe_atom, const audit_subscriber& sub) {
        self->monitor(sub);
        self->state.subscribers.push_back(sub);
      },
      [=](atom::subscribe_atom, const audit_commit_listener& l) {
        self->monitor(l);
        self->state.commit_listeners.push_back(l);
      },
      [=](atom::unsub_atom, const audit_subscriber& sub) {
        auto& subs = self->state.subscribers;
        subs.erase(std::remove(subs.begin(), subs.end(), sub), subs.end());
        self->demonitor(sub.address());
      },
      [=](atom::flush_atom) -> caf::result<std::int32_t> {
        auto rp = self->make_response_promise<std::int32_t>();
        self->state.flush_waiters.push_back(rp);
        flush(self);
        return rp;
      },
      [=](atom::tick_atom) {
        flush(self);
        self->delayed_send(self, flush_period, atom::tick_atom_v);
      },
      [=](atom::purge_atom) { purge(self); },
      [=](atom::purge_atom, const std::string& user_id,
          const std::string& email) { forget(self, user_id, email); },
  };
}

} // namespace authsvc
