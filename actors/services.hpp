#pragma once
// Handles to the service's long-lived actors and the configuration snapshot,
// handed to every front actor at spawn. Grows as owners are added.
#include <memory>

#include "actors/db_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "core/config.hpp"

namespace authsvc {

struct services {
  std::shared_ptr<const config::settings> cfg;
  metrics_actor metrics;
  db_actor db;
};

}  // namespace authsvc
