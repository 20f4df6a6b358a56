#include "actors/supervisor.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace authsvc {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

std::string reason_text(const caf::error& e) {
  return e ? caf::to_string(e) : std::string("normal");
}

/// Stops serving: the service manager restarts the process.
void escalate(self_ptr self, supervisor_state::child& c,
              const std::string& reason, const char* why) {
  auto& st = self->state;
  c.status.state = "down";
  if (st.exiting)
    return;
  st.exiting = true;
  log::error("supervisor", "actor-died",
             {{"actor", c.spec.name},
              {"reason", reason},
              {"action", "exit"},
              {"why", why},
              {"message", "a top-level actor died and cannot be restarted "
                          "in place; the process exits non-zero so that "
                          "its service manager starts it again"}});
  if (st.opts.fatal)
    st.opts.fatal(c.spec.name, reason);
}

/// New fronts with the current snapshot; the old ones stop (their requests
/// in flight are answered 503 by their responders).
void respawn_fronts(self_ptr self) {
  auto& st = self->state;
  auto old = std::move(st.fronts);
  st.fronts.clear();
  for (std::size_t i = 0; i < st.opts.front_count; ++i) {
    auto a = st.opts.spawn_front(st.svc, i);
    self->monitor(a);
    st.fronts.push_back(a);
  }
  for (auto& a : old) {
    self->demonitor(a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
}

void restart(self_ptr self, supervisor_state::child& c,
             const std::string& reason) {
  auto& st = self->state;
  c.status.state = "restarting";
  c.spec.addr = c.spec.respawn(st.svc);
  self->monitor(c.spec.addr);
  ++c.status.restarts;
  c.status.state = "ok";
  if (c.spec.held_by_fronts)
    respawn_fronts(self);
  if (st.opts.published)
    st.opts.published(st.svc);
  caf::anon_send(st.svc.metrics,
                 metrics::inc("actor_restarts_total", {c.spec.name}));
  log::error("supervisor", "actor-restarted",
             {{"actor", c.spec.name},
              {"reason", reason},
              {"restarts", c.status.restarts},
              {"fronts_respawned", c.spec.held_by_fronts}});
}

/// A front died (outside a respawn): only its slot gets a new one.
bool on_front_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = std::find(st.fronts.begin(), st.fronts.end(), dm.source);
  if (i == st.fronts.end())
    return false;
  auto slot = static_cast<std::size_t>(i - st.fronts.begin());
  auto reason = reason_text(dm.reason);
  st.fronts_status.last_exit = reason;
  ++st.fronts_status.restarts;
  *i = st.opts.spawn_front(st.svc, slot);
  self->monitor(*i);
  caf::anon_send(st.svc.metrics,
                 metrics::inc("actor_restarts_total", {"http_front"}));
  log::error("supervisor", "actor-restarted",
             {{"actor", "http_front"},
              {"slot", slot},
              {"reason", reason},
              {"restarts", st.fronts_status.restarts}});
  return true;
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.exiting)
    return;
  if (on_front_down(self, dm))
    return;
  auto i
      = std::find_if(st.children.begin(), st.children.end(),
                     [&](const auto& c) { return c.spec.addr == dm.source; });
  if (i == st.children.end())
    return; // an actor replaced by a restart already
  auto& c = *i;
  auto reason = reason_text(dm.reason);
  c.status.last_exit = reason;
  if (c.spec.policy == on_death::exit_process || !c.spec.respawn)
    return escalate(self, c, reason, "not restartable");
  auto now = st.svc.clock->steady_ns() / 1'000'000'000;
  auto& d = c.deaths;
  d.erase(std::remove_if(d.begin(), d.end(),
                         [&](std::int64_t t) {
                           return now - t >= st.opts.restart_window;
                         }),
          d.end());
  d.push_back(now);
  if (static_cast<std::int32_t>(d.size()) > st.opts.max_restarts)
    return escalate(self, c, reason, "restart limit reached");
  restart(self, c, reason);
}

} // namespace

supervision_report supervisor_state::report() const {
  supervision_report r;
  for (const auto& c : children)
    r.children.push_back(c.status);
  r.children.push_back(fronts_status);
  return r;
}

supervisor_actor::behavior_type
supervisor_impl(supervisor_actor::stateful_pointer<supervisor_state> self,
                services svc, supervisor_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.svc = std::move(svc);
  st.svc.supervisor = self;
  for (auto& spec : st.opts.children) {
    supervisor_state::child c;
    c.status.name = spec.name;
    c.status.state = "ok";
    c.spec = std::move(spec);
    self->monitor(c.spec.addr);
    st.children.push_back(std::move(c));
  }
  st.opts.children.clear();
  st.fronts_status.name = "http_fronts";
  st.fronts_status.state = "ok";
  respawn_fronts(self);
  if (st.opts.published)
    st.opts.published(st.svc);
  self->set_down_handler(
      [self](const caf::down_msg& dm) { on_down(self, dm); });
  return {
      [self](atom::status_atom) { return self->state.report(); },
      [self](atom::kill_atom, const std::string& name) {
        auto& st = self->state;
        if (name == "http_front" && !st.fronts.empty()) {
          caf::anon_send_exit(st.fronts.front(), caf::exit_reason::kill);
          return true;
        }
        for (auto& c : st.children)
          if (c.spec.name == name) {
            caf::anon_send_exit(c.spec.addr, caf::exit_reason::kill);
            return true;
          }
        return false;
      },
  };
}

} // namespace authsvc
