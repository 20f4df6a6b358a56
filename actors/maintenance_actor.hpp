#pragma once
// Periodic purges of short-lived rows whose owners have no timer of their
// own: expired email flows, exchange codes and ceremony challenges. One unit
// per period (the period the session actor purges its own tables with).
#include <cstdint>

#include "actors/db_actor.hpp"
#include "actors/type_ids.hpp"
#include "core/clock.hpp"

namespace authsvc {

using maintenance_actor = caf::typed_actor<caf::reacts_to<atom::tick_atom>>;

struct maintenance_options {
  /// Seconds between purges.
  std::int64_t period_seconds = 30;
  clock_ptr clock = real_clock();
};

/// The statements of one purge at `now` (one unit).
db::unit maintenance_purge(std::int64_t now);

maintenance_actor::behavior_type
maintenance_impl(maintenance_actor::pointer self,
                 const maintenance_options& opts, const db_actor& db);

} // namespace authsvc
