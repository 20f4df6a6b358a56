#pragma once
// The webhook actor turns audit events into signed deliveries (Standard
// Webhooks: webhook-id, webhook-timestamp, webhook-signature) kept in a
// durable outbox (webhook_deliveries), and delivers them with retries,
// exponential backoff and a circuit breaker per endpoint. Detached: each
// POST blocks (libcurl) and must not stall other actors.
// Deliveries are derived from committed audit rows (issue 14): after each
// audit batch commits (the auditor wakes this actor) and on every tick, the
// rows past the persisted cursor (webhook_cursor) become deliveries in one
// unit that also moves the cursor, compare-and-swap, so a crash between an
// event and its delivery row loses nothing and two nodes never derive one
// row twice. Deliveries are claimed with a lease (webhooks.lease_timeout),
// on PostgreSQL FOR UPDATE SKIP LOCKED, so each is attempted by one node at
// a time; a node killed mid-delivery leaves its lease to expire.
// Every completed scan of the outbox counts in webhook_polls_total; each
// derivation pass ends in one scan.
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
    /// Endpoints changed (admin API): reload them.
    caf::reacts_to<atom::load_atom>,
    /// Audit rows committed (the auditor, after each batch) or a due retry:
    /// derive deliveries, then look at the outbox. The tick also reloads the
    /// endpoints (another node's admin API may have changed them).
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
  /// This process's lease owner token (actors/lease_owner.hpp).
  std::string owner;
  bool loaded = false;
  bool busy = false;
  bool deriving = false;     ///< a derivation pass is on its way
  bool derive_again = false; ///< a wake came during it
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
