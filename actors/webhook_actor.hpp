#pragma once
// The webhook actor turns audit events into signed deliveries (Standard
// Webhooks: webhook-id, webhook-timestamp, webhook-signature) kept in a
// durable outbox (webhook_deliveries), and delivers them with retries,
// exponential backoff and a circuit breaker per endpoint. Detached: each
// POST blocks (libcurl) and must not stall other actors.
// Every completed scan of the outbox counts in webhook_polls_total.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/auditor_actor.hpp"
#include "actors/db_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"

namespace authsvc {

using webhook_actor = caf::typed_actor<
    /// An event from the auditor (the actor subscribes itself).
    caf::reacts_to<audit_event>,
    /// Endpoints changed (admin API): reload them.
    caf::reacts_to<atom::load_atom>,
    /// New deliveries or a due retry: look at the outbox now.
    caf::reacts_to<atom::wake_atom>, caf::reacts_to<atom::tick_atom>,
    /// Internal, at start and hourly: deletes finished deliveries older than
    /// webhooks.retention_days (the webhook actor owns webhook_deliveries).
    caf::reacts_to<atom::purge_atom>>;

struct webhook_endpoint {
  std::string id;
  std::string url;
  std::string secret; ///< whsec_..., decrypted in memory only
  std::vector<std::string> event_types;
  bool enabled = true;
  // -- circuit breaker --
  int consecutive_failures = 0;
  std::int64_t open_until = 0;
  int trips = 0;
};

struct webhook_options {
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  /// Signature timestamps, retry times and the circuit breaker's cool-down
  /// read this clock.
  clock_ptr clock = real_clock();
  /// When the first periodic scan runs (then every webhooks.poll_interval).
  std::chrono::milliseconds first_tick = std::chrono::seconds(1);
};

struct webhook_state {
  static inline const char* name = "authsvc.webhooks";
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  clock_ptr clock = real_clock();
  db_actor db;
  metrics_actor metrics;
  std::map<std::string, webhook_endpoint> endpoints;
  bool loaded = false;
  bool busy = false;
};

/// Spawn with caf::detached.
webhook_actor::behavior_type
webhook_impl(webhook_actor::stateful_pointer<webhook_state> self,
             webhook_options opts, db_actor db, metrics_actor metrics,
             const auditor_actor& auditor);

/// Whether an endpoint subscribed to `event_types` wants `type`
/// ("*", an exact type, or a "family.*" prefix).
bool webhook_wants(const std::vector<std::string>& event_types,
                   const std::string& type);

} // namespace authsvc
