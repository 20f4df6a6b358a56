#include "actors/maintenance_actor.hpp"

#include <algorithm>
#include <chrono>

#include "actors/db_timeout.hpp"
#include "core/log.hpp"
#include "db/flows_store.hpp"
#include "db/webauthn_store.hpp"

namespace authsvc {

db::unit maintenance_purge(std::int64_t now) {
  db::unit u;
  u.statements = {
      db::flows_store::purge_flows(now),
      db::flows_store::purge_exchange_codes(now),
      db::webauthn_store::purge_challenges(now),
  };
  return u;
}

maintenance_actor::behavior_type
maintenance_impl(maintenance_actor::pointer self,
                 const maintenance_options& opts, const db_actor& db) {
  auto period
      = std::chrono::seconds(std::max<std::int64_t>(1, opts.period_seconds));
  self->delayed_send(self, period, atom::tick_atom_v);
  return {
      [=](atom::tick_atom) {
        self->request(db, db_timeout, atom::write_atom_v,
                      maintenance_purge(opts.clock->unix_seconds()))
            .then([](db::unit_result&) {},
                  [](caf::error& e) {
                    log::warn("maintenance", "purge-failed",
                              {{"error", caf::to_string(e)}});
                  });
        self->delayed_send(self, period, atom::tick_atom_v);
      },
  };
}

} // namespace authsvc
