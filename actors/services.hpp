#pragma once
// Handles to the service's long-lived actors and the configuration snapshot,
// handed to every front actor at spawn.
#include <memory>

#include "actors/auditor_actor.hpp"
#include "actors/db_actor.hpp"
#include "actors/ip_filter_actor.hpp"
#include "actors/mailer_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/rate_limiter_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/supervisor_handle.hpp"
#include "actors/webhook_actor.hpp"
#include "auth/sharded_rate_limiter.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "auth/webauthn/attestation.hpp"

namespace authsvc {

struct services {
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  metrics_actor metrics;
  db_actor db;
  session_actor sessions;
  /// The session actor's read view: fronts check tokens against it without
  /// a message (actors/session_directory.hpp). Null: always ask the actor.
  session_directory_ptr session_dir;
  mailer_actor mailer;
  auditor_actor auditor;
  webhook_actor webhooks;
  rate_limiter_actor limiter;
  /// The global per-IP ceiling (rate_limit.policies global_per_ip) of
  /// routes without a class of their own, checked by the fronts without a
  /// limiter message (issue 13), and the gate that lets one audit event per
  /// refused address a minute through. Null: the limiter actor decides.
  std::shared_ptr<auth::sharded_rate_limiter> ip_ceiling;
  std::shared_ptr<auth::sharded_rate_limiter> ip_ceiling_audit;
  ip_filter_actor ip_filters;
  /// Where every flow and handler reads the time (a manual clock in tests).
  clock_ptr clock = real_clock();

  /// The roots of `webauthn.trust_anchors_dir`, read once at start (never
  /// per registration): see passkey_flow::load_trust_anchors.
  std::shared_ptr<const std::vector<auth::webauthn::trust_anchor>>
      trust_anchors;

  /// Monitors the owners above (actors/supervisor.hpp); /health asks it.
  /// Null in tests that spawn owners without one.
  supervisor_actor supervisor;
};

} // namespace authsvc
