#pragma once
// The mailer actor delivers the durable mail queue (mail_jobs). Detached, and
// the blocking send itself (SMTP over libcurl, or an fsync into the outbox)
// runs in a second detached actor, the mail worker, so that neither scheduled
// actors nor the mailer's own status answers (/health) wait for a slow relay.
// Jobs are claimed with a lease, so a job left "sending" by a crash is sent
// again once its lease ran out; each attempt's outcome is recorded on the job.
// Every completed scan of the queue counts in email_queue_polls_total.
// Finished jobs are deleted after mail.retention_days; the notice to a
// deleted account is deleted as soon as it is finished.
#include <deque>
#include <memory>
#include <vector>

#include "actors/db_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "core/clock.hpp"
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
    /// Internal, at start and hourly: deletes finished jobs older than
    /// mail.retention_days (the mailer owns mail_jobs).
    caf::reacts_to<atom::purge_atom>,
    caf::replies_to<atom::status_atom>::with<mailer_status>,
    /// Shutting down: claim nothing more, hand claimed jobs not yet sent back
    /// to the queue, and answer once the send in progress (if any) is recorded.
    /// Answers the number of jobs handed back.
    caf::replies_to<atom::flush_atom>::with<std::int32_t>>;

struct mailer_options {
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  std::shared_ptr<const mail::template_set> templates;
  /// Lease expiry, retry times and durations read this clock.
  clock_ptr clock = real_clock();
};

/// Does the blocking sends, one at a time: (deliver, mail_from, to,
/// message_id, message) -> (send_status, smtp_code, error, location).
using mail_worker_actor = caf::typed_actor<caf::replies_to<
    atom::deliver_atom, std::string, std::string, std::string,
    std::string>::with<std::int32_t, std::int32_t, std::string, std::string>>;

struct mail_worker_state {
  static inline const char* name = "authsvc.mail_worker";
  std::unique_ptr<mail::transport> transport;
};

/// A claimed job, rendered and ready for the worker.
struct mail_pending {
  std::string id;
  std::string message_id;
  std::string to;
  std::string template_name;
  std::string message;
  std::uint32_t attempts = 0;
  std::int64_t created_at = 0;
};

struct mailer_state {
  static inline const char* name = "authsvc.mailer";
  mailer_options opts;
  db_actor db;
  metrics_actor metrics;
  mail_worker_actor worker;
  mailer_status status;
  std::deque<mail_pending> pending; ///< claimed, not yet handed to the worker
  bool busy = false;                ///< a claimed batch is being sent
  bool batch_full = false;          ///< the last claim hit the batch size
  bool wake_again = false;          ///< a wake arrived while busy
  bool stopping = false;            ///< flush received: no new claims
  int records_in_flight = 0;        ///< outcome writes not yet committed
  std::int32_t released = 0;        ///< jobs handed back by the flush
  std::vector<caf::typed_response_promise<std::int32_t>> flush_waiters;
};

/// Spawn with caf::detached.
mailer_actor::behavior_type
mailer_impl(mailer_actor::stateful_pointer<mailer_state> self,
            mailer_options opts, db_actor db, metrics_actor metrics);

/// Spawned (detached, linked) by the mailer; owns the transport.
mail_worker_actor::behavior_type
mail_worker_impl(mail_worker_actor::stateful_pointer<mail_worker_state> self,
                 const std::shared_ptr<const config::settings>& cfg);

/// Builds the configured transport (outbox or SMTP).
std::unique_ptr<mail::transport> make_transport(const config::settings& cfg);

} // namespace authsvc
