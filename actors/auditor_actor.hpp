#pragma once
// The auditor actor receives one event per security-relevant action from
// every flow, writes them to audit_logs in batches through the DB actor (so
// requests never wait on it), and forwards each event to subscribers. Under
// overload it keeps at most `audit.queue_limit` events in memory and counts
// every event it had to drop in `audit_events_dropped_total`. Commit
// listeners hear a wake after each batch that committed: the webhook actor
// derives its deliveries from the committed rows (issue 14).
#include <deque>
#include <memory>
#include <vector>

#include "actors/db_actor.hpp"
#include "actors/messages.hpp"
#include "actors/metrics_actor.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"

namespace authsvc {

using audit_subscriber = caf::typed_actor<caf::reacts_to<audit_event>>;

/// Told that audit rows committed (no content: the rows are in the table).
using audit_commit_listener = caf::typed_actor<caf::reacts_to<atom::wake_atom>>;

using auditor_actor = caf::typed_actor<
    /// Records one event (fire and forget).
    caf::reacts_to<audit_event>,
    /// Starts forwarding every event to `sub` until it unsubscribes or dies.
    caf::reacts_to<atom::subscribe_atom, audit_subscriber>,
    caf::reacts_to<atom::unsub_atom, audit_subscriber>,
    /// Sends `l` a wake after every batch that committed, until it dies.
    caf::reacts_to<atom::subscribe_atom, audit_commit_listener>,
    /// Writes what is buffered now; answers how many events were written.
    caf::replies_to<atom::flush_atom>::with<std::int32_t>,
    /// Internal: periodic flush and retention purge.
    caf::reacts_to<atom::tick_atom>, caf::reacts_to<atom::purge_atom>,
    /// An account (user id, email) was deleted: its events, buffered and
    /// stored, keep the hash of the address instead of the address and lose
    /// the user agent. Send it after the last event about the account.
    caf::reacts_to<atom::purge_atom, std::string, std::string>>;

struct auditor_state {
  static inline const char* name = "authsvc.auditor";
  std::shared_ptr<const config::settings> cfg;
  db_actor db;
  metrics_actor metrics;
  std::deque<audit_event> buffer;
  bool writing = false;
  std::vector<audit_subscriber> subscribers;
  std::vector<audit_commit_listener> commit_listeners;
  std::vector<caf::typed_response_promise<std::int32_t>> flush_waiters;
  /// Where event times and the retention cutoff come from.
  clock_ptr clock = real_clock();
};

/// The auditor on the machine's clock.
auditor_actor::behavior_type
auditor_impl(auditor_actor::stateful_pointer<auditor_state> self,
             std::shared_ptr<const config::settings> cfg, db_actor db,
             metrics_actor metrics);

/// The auditor with event times and the retention cutoff read from `clock`
/// (a manual clock in tests).
auditor_actor::behavior_type
auditor_with_clock(auditor_actor::stateful_pointer<auditor_state> self,
                   std::shared_ptr<const config::settings> cfg, db_actor db,
                   metrics_actor metrics, clock_ptr clock);

} // namespace authsvc
