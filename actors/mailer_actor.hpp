#pragma once
// The mailer actor delivers the durable mail queue (mail_jobs). Detached, and
// the blocking sends themselves (SMTP over libcurl, or an fsync into the
// outbox) run in detached mail workers (mail.workers of them, each send in
// its own), so that neither scheduled actors nor the mailer's own status
// answers (/health) wait for a slow relay, and one relay connection that
// hangs does not hold up the mail to everyone else.
// Jobs are claimed with a lease, in batches of up to mail.claim_batch, so a
// job left "sending" by a crash is sent again once its lease ran out; each
// attempt's outcome is recorded on the job. Several nodes share one queue on
// PostgreSQL: a claim takes only rows no other node holds (FOR UPDATE SKIP
// LOCKED) and stamps them with this process's lease owner token, and a job
// is handed back or rescheduled only while this process still holds it.
// A send the transport has not ended by mail.send_deadline is counted as
// stuck (log, metric, /health) and its worker replaced; its outcome is still
// recorded whenever the transport ends it (a late 250 is a delivery).
// Every completed scan of the queue counts in email_queue_polls_total.
// Finished jobs are deleted after mail.retention_days; the notice to a
// deleted account is deleted as soon as it is finished.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
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
    /// Internal: the deadline of send N (mail.send_deadline) has come.
    caf::reacts_to<atom::tick_atom, std::uint64_t>,
    /// Internal, at start and hourly: deletes finished jobs older than
    /// mail.retention_days (the mailer owns mail_jobs).
    caf::reacts_to<atom::purge_atom>,
    /// Internal: an outcome write that failed, tried again (first failure
    /// in unix ms, retries so far).
    caf::reacts_to<atom::write_atom, db::unit, std::int64_t, std::int32_t>,
    caf::replies_to<atom::status_atom>::with<mailer_status>,
    /// Shutting down: claim nothing more, hand claimed jobs not yet sent back
    /// to the queue, and answer once the sends in progress are recorded (a
    /// send already past its deadline is not waited for: its lease brings
    /// the job back).
    /// Answers the number of jobs handed back.
    caf::replies_to<atom::flush_atom>::with<std::int32_t>>;

struct mailer_options {
  std::shared_ptr<const config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  std::shared_ptr<const mail::template_set> templates;
  /// Lease expiry, retry times and durations read this clock.
  clock_ptr clock = real_clock();
};

/// Does the blocking sends, one batch at a time: (deliver, messages) ->
/// one result per message, in order. A batch holds up to the transport's
/// batch_limit() messages (the outbox: mail.outbox_batch; SMTP: one).
/// `flush` makes it quit normally (a replaced worker, once its late send
/// ended), which does not take the linked mailer down.
using mail_worker_actor = caf::typed_actor<
    caf::replies_to<atom::deliver_atom, std::vector<mail_delivery>>::with<
        std::vector<mail_delivery_result>>,
    caf::reacts_to<atom::flush_atom>>;

struct mail_worker_state {
  static inline const char* name = "authsvc.mail_worker";
  std::unique_ptr<mail::transport> transport;
};

/// One claim of due jobs. It is complete (email_queue_polls_total) once
/// every job it claimed has an outcome, or is past its send deadline.
struct mail_scan {
  std::size_t outstanding = 0; ///< claimed jobs without an outcome yet
  bool claimed = false;        ///< the claim itself has answered
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
  std::int64_t lease_until = 0; ///< unix seconds; not sent after it
  std::shared_ptr<mail_scan> scan;
  bool scan_counted = false; ///< already taken off scan->outstanding
};

/// A batch of sends handed to a worker and not answered yet.
struct mail_send {
  std::vector<std::shared_ptr<mail_pending>> jobs;
  mail_worker_actor worker;
  std::int64_t started_ns = 0;
  bool past_deadline = false; ///< counted in mailer_status::stuck
};

struct mailer_state {
  static inline const char* name = "authsvc.mailer";
  mailer_options opts;
  /// This process's lease owner token (host, pid, random): what a claim
  /// writes into lease_owner, and what release and reschedule require.
  std::string owner;
  /// Jobs this process holds now (prepared or with a worker), by id: a
  /// claim that returns one again (its lease ran out while its send was
  /// still going) does not start a second send of it here.
  std::set<std::string> held;
  db_actor db;
  metrics_actor metrics;
  mailer_status status;
  std::vector<mail_worker_actor> idle;        ///< workers free for a send
  std::size_t live_workers = 0;               ///< idle, busy and stuck ones
  std::map<std::uint64_t, mail_send> sending; ///< by send id
  std::uint64_t next_send = 0;
  std::deque<std::shared_ptr<mail_pending>> pending; ///< claimed, not sent
  bool claiming = false;     ///< a claim is on its way to the database
  bool batch_full = false;   ///< the last claim hit the batch size
  bool wake_again = false;   ///< a wake arrived while no claim could start
  bool stopping = false;     ///< flush received: no new claims
  int records_in_flight = 0; ///< outcome writes not yet committed
  int records_owed = 0;      ///< failed outcome writes waiting for a retry
  /// A claim or an outcome write failed since the last good claim: the
  /// database went away (or refused).
  bool saw_db_failure = false;
  /// Until when (unix ms) claims leave other owners' lapsed leases alone:
  /// the settle window after the database came back (mailer_actor.cpp,
  /// scan()).
  std::int64_t take_over_after_ms = 0;
  std::int32_t released = 0; ///< jobs handed back by the flush
  std::vector<caf::typed_response_promise<std::int32_t>> flush_waiters;
  /// While the outcomes of one batch are recorded: their writes, sent to
  /// the database as one unit at the end instead of one unit each.
  std::optional<db::unit> record_batch;
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
