#include "actors/metrics_actor.hpp"

#include <chrono>

#include "core/log.hpp"

namespace authsvc {

metrics_actor::behavior_type
metrics_impl(metrics_actor::stateful_pointer<metrics_state> self,
             double start_time) {
  metrics::declare_service_metrics(self->state.registry);
  self->state.start_time = start_time;
  return {
      [=](const metrics::sample& s) {
        if (!self->state.registry.apply(s))
          log::warn("metrics", "metric-sample-rejected", {{"name", s.name}});
      },
      [=](const std::vector<metrics::sample>& xs) {
        for (const auto& s : xs)
          if (!self->state.registry.apply(s))
            log::warn("metrics", "metric-sample-rejected", {{"name", s.name}});
      },
      [=](atom::render_atom) -> std::string {
        metrics::collect_process_metrics(self->state.registry,
                                         self->state.start_time);
        return self->state.registry.render();
      },
  };
}

} // namespace authsvc
