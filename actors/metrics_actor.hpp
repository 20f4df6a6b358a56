#pragma once
// The metrics actor owns every counter, gauge and histogram. Others send it
// samples (fire and forget); /metrics asks it to render.
#include "actors/type_ids.hpp"
#include "core/metrics_registry.hpp"

namespace authsvc {

using metrics_actor
    = caf::typed_actor<caf::reacts_to<metrics::sample>,
                       caf::reacts_to<std::vector<metrics::sample>>,
                       caf::replies_to<atom::render_atom>::with<std::string>>;

struct metrics_state {
  static inline const char* name = "authsvc.metrics";
  metrics::registry registry;
  double start_time = 0;
};

/// @param start_time process start (unix seconds) for process_start_time.
/// (An argument also keeps CAF 0.17 from dereferencing an empty argument
/// tuple when spawning, which UBSan reports.)
metrics_actor::behavior_type
metrics_impl(metrics_actor::stateful_pointer<metrics_state> self,
             double start_time);

} // namespace authsvc
