#pragma once
// The mailer actor delivers the durable mail queue (mail_jobs). Detached:
// sending blocks (SMTP over libcurl, or an fsync into the outbox) and must
// not stall scheduled actors. Jobs are claimed with a lease, so a job left
// "sending" by a crash is sent again once its lease ran out; each attempt's
// outcome is recorded on the job.
#include <memory>

#include "actors/db_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "mail/template_set.hpp"
#include "mail/transport.hpp"

namespace authsvc {

using mailer_actor = caf::typed_actor<
  /// New jobs were committed: look at the queue now.
  caf::reacts_to<atom::wake_atom>,
  /// Internal: periodic scan for due retries and expired leases.
  caf::reacts_to<atom::tick_atom>,
  caf::replies_to<atom::status_atom>::with<mailer_status>>;

struct mailer_options {
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  std::shared_ptr<const mail::template_set> templates;
};

struct mailer_state {
  static inline const char* name = "authsvc.mailer";
  mailer_options opts;
  db_actor db;
  metrics_actor metrics;
  std::unique_ptr<mail::transport> transport;
  mailer_status status;
  bool busy = false;        ///< a claim is in flight
  bool wake_again = false;  ///< a wake arrived while busy
};

/// Spawn with caf::detached.
mailer_actor::behavior_type
mailer_impl(mailer_actor::stateful_pointer<mailer_state> self,
            mailer_options opts, db_actor db, metrics_actor metrics);

/// Builds the configured transport (outbox or SMTP).
std::unique_ptr<mail::transport> make_transport(const config::settings& cfg);

}  // namespace authsvc
