#pragma once
// The redis limiter actor (rate_limit.backend = "redis", issue 14): owns
// the one hiredis connection of this node and runs one GCRA step per
// request in Redis (auth/redis_gcra.hpp). Spawned detached by the rate
// limiter actor, linked to it: its calls block its own thread, never the
// I/O threads or the scheduler's. After a failure it answers at once,
// without touching the network, until `retry_interval` has passed, so a
// dead Redis costs the node one `timeout` per interval, not one per request.
#include <chrono>
#include <memory>

#include "actors/metrics_actor.hpp"
#include "actors/redis_connection.hpp"
#include "actors/type_ids.hpp"
#include "auth/redis_url.hpp"
#include "core/clock.hpp"

namespace authsvc {

using redis_limiter_actor = caf::typed_actor<
    /// Runs the GCRA script once; see shared_limit_reply.
    caf::replies_to<atom::limit_atom,
                    shared_limit_call>::with<shared_limit_reply>>;

struct redis_limiter_options {
  auth::redis_endpoint endpoint;
  /// Bounds connect, send and reply (rate_limit.redis_timeout).
  std::chrono::milliseconds timeout{250};
  /// How long a failure keeps the actor from trying Redis again.
  std::chrono::milliseconds retry_interval{1000};
  clock_ptr clock = real_clock();
  /// Which of the node's connections this is (the `connection` label).
  std::int64_t index = 0;
};

struct redis_limiter_state {
  static inline const char* name = "authsvc.redis-limiter";
  std::unique_ptr<redis_connection> conn;
  /// steady_ns before which calls fail without trying (after a failure).
  std::int64_t quiet_until_ns = 0;
  /// Whether the last attempt reached Redis (logged on each change).
  bool up = false;
};

/// Spawn with caf::detached (blocking I/O).
redis_limiter_actor::behavior_type redis_limiter_impl(
    redis_limiter_actor::stateful_pointer<redis_limiter_state> self,
    redis_limiter_options opts, metrics_actor metrics);

} // namespace authsvc
