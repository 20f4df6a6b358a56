#include "actors/ip_filter_actor.hpp"

#include <chrono>

#include "actors/db_timeout.hpp"
#include "auth/cidr.hpp"
#include "core/log.hpp"

namespace authsvc {

namespace {

constexpr auto retry_delay = std::chrono::milliseconds(100);

void push(ip_filter_actor::stateful_pointer<ip_filter_state> self) {
  for (const auto& f : self->state.fronts)
    self->send(f, self->state.current);
}

/// Reads the table; `done(count)` runs once the snapshot went out (or with
/// -1 when the database could not be read).
template <class F>
void load(ip_filter_actor::stateful_pointer<ip_filter_state> self, F done) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::ip_filters_store::load_rules())
      .then(
          [=](db::rowset& rs) mutable {
            auto rules = db::ip_filters_store::decode_rules(rs);
            std::vector<std::string> skipped;
            auto snap = merge_ip_rules(*self->state.cfg, rules, &skipped);
            for (const auto& s : skipped)
              log::warn("ip-filter", "ip-filter-rule-skipped", {{"cidr", s}});
            bool changed = !self->state.loaded
                           || snap.allow != self->state.current.allow
                           || snap.deny != self->state.current.deny;
            self->state.loaded = true;
            self->state.current = std::move(snap);
            if (changed) {
              log::info("ip-filter", "ip-filter-rules-loaded",
                        {{"allow", self->state.current.allow.size()},
                         {"deny", self->state.current.deny.size()},
                         {"table_rows", rules.size()}});
              push(self);
            }
            done(static_cast<std::int32_t>(rules.size()));
          },
          [=](caf::error&) mutable { done(-1); });
}

} // namespace

ip_rules_snapshot
merge_ip_rules(const config::settings& cfg,
               const std::vector<db::ip_filters_store::rule_match>& rules,
               std::vector<std::string>* skipped) {
  ip_rules_snapshot s;
  s.allow = cfg.server.ip_allow;
  s.deny = cfg.server.ip_deny;
  for (const auto& [cidr, action] : rules) {
    if (!auth::parse_cidr_list({cidr}) || cidr.empty()
        || (action != "allow" && action != "deny")) {
      if (skipped)
        skipped->push_back(cidr);
      continue;
    }
    (action == "allow" ? s.allow : s.deny).push_back(cidr);
  }
  return s;
}

ip_filter_actor::behavior_type
ip_filter_impl(ip_filter_actor::stateful_pointer<ip_filter_state> self,
               const std::shared_ptr<const config::settings>& cfg,
               db_actor db) {
  self->state.cfg = cfg;
  self->state.db = std::move(db);
  self->state.current.allow = cfg->server.ip_allow;
  self->state.current.deny = cfg->server.ip_deny;
  self->send(self, atom::tick_atom_v);
  return {
      [=](atom::reload_atom) -> caf::result<std::int32_t> {
        auto rp = self->make_response_promise<std::int32_t>();
        load(self, [rp](std::int32_t n) mutable {
          if (n < 0)
            rp.deliver(caf::make_error(caf::sec::runtime_error));
          else
            rp.deliver(n);
        });
        return rp;
      },
      [=](atom::subscribe_atom, ip_rules_sink& front) {
        self->send(front, self->state.current);
        self->state.fronts.push_back(std::move(front));
      },
      [=](atom::tick_atom) {
        load(self, [self](std::int32_t n) {
          // Until the first read succeeds (migrations still running), retry
          // soon; then refresh at the configured pace (0 = only on reload).
          auto every = self->state.cfg->server.ip_filter_refresh;
          if (n < 0 && !self->state.loaded)
            self->delayed_send(self, retry_delay, atom::tick_atom_v);
          else if (every > 0)
            self->delayed_send(self, std::chrono::seconds(every),
                               atom::tick_atom_v);
        });
      },
  };
}

} // namespace authsvc
