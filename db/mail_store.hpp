#pragma once
// The mail queue (mail_jobs) as the mailer sees it: claiming due jobs with a
// lease, recording each attempt's outcome, handing claimed jobs back, the
// queue depth for /health and metrics, the retention purge, and queuing a
// job (the insert that joins a flow's unit). Plain functions that build
// db::statement values and decode their rows; the DB actor runs them. No
// other file holds mail_jobs SQL.
#include <cstdint>
#include <string>
#include <vector>

#include "db/executor.hpp"
#include "db/value.hpp"

namespace authsvc::db::mail_store {

/// A job the claim leased to this mailer.
struct claimed_job {
  std::string id;
  std::string message_id;
  std::string to_email;
  std::string template_name;
  std::string locale;
  std::string vars_enc; ///< the sealed template variables
  std::uint32_t attempts = 0;
  std::int64_t created_at = 0;
  std::int64_t lease_until = 0; ///< what the claim set
};

/// How much work waits in the queue.
struct queue_depth {
  std::int64_t depth = 0;  ///< jobs queued or sending
  std::int64_t oldest = 0; ///< next_attempt_at of the oldest due job, 0: none
};

/// One job's delivery state (diagnostics and tests).
struct job_state {
  std::string id;
  std::string status; ///< queued, sending, sent or failed
  std::uint32_t attempts = 0;
  std::int64_t lease_until = 0; ///< 0 when not leased
  std::string lease_owner;      ///< the process that holds (or held) it
  std::int64_t next_attempt_at = 0;
  std::string last_error;
};

// -- claiming ----------------------------------------------------------------

/// Leases up to `batch` due jobs to `owner` until `lease_until` and counts
/// the attempt: queued jobs due at `now`, and jobs left sending whose lease
/// ran out before `now` (a mailer that stopped mid-send). Oldest due first.
/// On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so nodes
/// claiming at once take disjoint jobs without waiting for each other; on
/// SQLite the one writer already serialises claims. With
/// `take_over_lapsed` false only queued jobs are claimed: the mailer's
/// first moments after a database outage, when the owner of a lapsed lease
/// may still be writing that it sent the job (mailer_actor.cpp).
statement claim_due(backend engine, std::int64_t now, std::int64_t lease_until,
                    const std::string& owner, std::int64_t batch,
                    bool take_over_lapsed = true);

/// The jobs a claim_due returned.
std::vector<claimed_job> decode_claimed(const rowset& rs);

/// Hands a job claimed but never sent back to the queue, as if the attempt
/// had not happened; only while `owner` still holds it (an expired lease may
/// be another node's by now).
statement release(const std::string& id, const std::string& owner);

// -- outcomes ----------------------------------------------------------------

/// The job was delivered at `now`.
statement mark_sent(const std::string& id, std::int64_t now);

/// The job can never be delivered.
statement mark_failed(const std::string& id, const std::string& error);

/// A temporary failure: due again at `next_attempt_at`; only while `owner`
/// still holds the job (once another node took it over, the job is its).
statement reschedule(const std::string& id, const std::string& owner,
                     const std::string& error, std::int64_t next_attempt_at);

/// Removes one job (the notice to a deleted account, once finished).
statement erase(const std::string& id);

// -- reads -------------------------------------------------------------------

/// Jobs queued or sending, and the oldest due time at `now`.
statement depth(std::int64_t now);
queue_depth decode_depth(const rowset& rs);

/// The delivery state of job `id` (an empty result if there is none).
statement state_of(const std::string& id);
std::vector<job_state> decode_states(const rowset& rs);

// -- retention ---------------------------------------------------------------

/// Removes finished jobs (sent or failed) created before `cutoff`; queued
/// and sending jobs are work, never purged.
statement purge_finished(std::int64_t cutoff);

// -- email sign-in --

/// Queues one mail job, due now: meant for the same unit as the change the
/// mail reports. `vars_enc` is the sealed template variables.
statement queue_job(const std::string& job_id, const std::string& message_id,
                    const std::string& to_email,
                    const std::string& template_name, const std::string& locale,
                    const std::string& vars_enc, std::int64_t now);

// -- sessions --

/// Removes every job addressed to `email`, sent ones too (account deletion).
statement remove_jobs_to(const std::string& email);

// -- admin --

/// Removes every job addressed to `email`, sent ones too (an account
/// deletion: no mail may outlive the account, except the notice of it).
statement delete_for_recipient(const std::string& email);

} // namespace authsvc::db::mail_store
