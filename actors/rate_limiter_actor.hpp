#pragma once
// The rate limiter actor: owns every GCRA limiter (auth::limiter_set) in
// memory. The HTTP front asks it once per request (global per-IP ceiling
// plus the route class's per-IP limit); handlers that learn an identifier
// (the normalised address of email/start) ask a second time for the
// per-identifier limit. No database access: state is bounded by
// `rate_limit.max_keys` per class and swept by a timer. With
// rate_limit.backend = "redis" the per-IP limits are asked of a linked
// redis limiter actor instead (one budget per client across nodes), and
// these in-memory limits stand in when Redis does not answer and
// rate_limit.redis_fail_open is true.
#include <chrono>
#include <memory>
#include <optional>

#include "actors/metrics_actor.hpp"
#include "actors/redis_limiter_actor.hpp"
#include "actors/type_ids.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/sharded_rate_limiter.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"

namespace authsvc {

using rate_limiter_actor = caf::typed_actor<
    /// Decides (and consumes) one request; see rate_request.
    caf::replies_to<atom::limit_atom, rate_request>::with<rate_verdict>,
    /// Internal: drops idle keys.
    caf::reacts_to<atom::tick_atom>>;

/// The per-IP limit class of a route table class ("verify" ->
/// verify_per_ip), or nullopt for an unknown or empty name.
std::optional<auth::limit_class> per_ip_class(std::string_view route_class);

/// The per-identifier limit class of a route table class ("email_send" ->
/// email_send_per_address), or nullopt when the class has none.
std::optional<auth::limit_class>
per_identifier_class(std::string_view route_class);

/// Builds the limiter configuration from `[rate_limit]`; unknown class
/// names or bad values are reported in `problems` and skipped.
auth::limiter_set_config limiter_config(const config::settings& cfg,
                                        std::vector<std::string>* problems);

struct rate_limiter_state {
  static inline const char* name = "authsvc.rate-limiter";
  std::unique_ptr<auth::limiter_set> limits;
  /// Lets one rate_limit.exceeded audit event per (class, key) a minute
  /// through, so a flood of 429s cannot flood the audit trail.
  std::unique_ptr<auth::rate_limiter> audit_gate;
  clock_ptr clock = real_clock();
  /// The global per-IP ceiling the HTTP fronts check themselves for routes
  /// without a limit class (front/rate_limit.cpp, issue 13). When set, this
  /// actor counts the ceiling of classed routes in that same counter, so
  /// one address gets `global_per_ip` in all, whichever routes it mixes
  /// (two counters would let it make twice that). Null: the ceiling lives
  /// in `limits` like every class.
  std::shared_ptr<auth::sharded_rate_limiter> shared_ceiling;
  /// rate_limit.backend = "redis": the per-IP limits in Redis, one actor
  /// (and connection) per rate_limit.redis_connections, spawned and linked
  /// by this actor; a client's calls always go to the same one. Empty for
  /// backend "memory".
  std::vector<redis_limiter_actor> redis;
  /// How long this actor waits for `redis` (its call timeout plus the
  /// queue in front of it, bounded).
  std::chrono::milliseconds redis_wait{500};
  bool redis_fail_open = true;
  metrics_actor metrics;

  /// The GCRA script's call for a per-IP request (global ceiling, then the
  /// route class's limit when it has one).
  shared_limit_call shared_call(const rate_request& req) const;
  /// The verdict of the script's reply, as decide() would answer; nullopt
  /// for a reply that is not the script's.
  std::optional<rate_verdict> shared_verdict(const rate_request& req,
                                             const shared_limit_reply& reply,
                                             auth::micros now);
  /// The redis limiter that serves this client.
  const redis_limiter_actor& redis_for(const std::string& ip_key) const;
  /// The configured policy of one class.
  auth::rate_policy limits_policy(auth::limit_class cls) const;

  /// Applies one request's limits at `now`.
  rate_verdict decide(const rate_request& req, auth::micros now);
  /// decide() for a per-IP request when shared_ceiling is set.
  rate_verdict decide_with_shared_ceiling(const rate_request& req,
                                          auth::micros now);
};

/// Limits are measured on `clock`'s monotonic reading.
rate_limiter_actor::behavior_type
rate_limiter_impl(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
                  const std::shared_ptr<const config::settings>& cfg,
                  clock_ptr clock,
                  std::shared_ptr<auth::sharded_rate_limiter> shared_ceiling,
                  metrics_actor metrics);

} // namespace authsvc
