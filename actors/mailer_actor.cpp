#include "actors/mailer_actor.hpp"

#include <algorithm>
#include <chrono>

#include "auth/secret_box.hpp"
#include "actors/db_timeout.hpp"
#include "actors/lease_owner.hpp"
#include "actors/retention_purge.hpp"
#include "core/log.hpp"
#include "db/mail_store.hpp"
#include "mail/mime.hpp"
#include "mail/outbox_transport.hpp"
#include "mail/retry.hpp"
#include "mail/smtp_transport.hpp"

namespace authsvc {

namespace {

using self_ptr = mailer_actor::stateful_pointer<mailer_state>;
using wall = std::chrono::system_clock;
namespace store = db::mail_store;

/// Wall time in unix seconds, from the injected clock.
std::int64_t unix_now(self_ptr self) {
  return self->state.opts.clock->unix_seconds();
}

/// Wall time as a time point (retry arithmetic, the Date header).
wall::time_point wall_now(self_ptr self) {
  return wall::time_point(
      std::chrono::milliseconds(self->state.opts.clock->unix_ms()));
}

wall::time_point from_unix(std::int64_t t) {
  return wall::time_point(std::chrono::seconds(t));
}

/// Whether a job's row goes as soon as it is finished: the notice to an
/// account that was just deleted is the last row naming its address.
bool erased_when_finished(const std::string& template_name) {
  return template_name == "account_deleted";
}

/// Batches in flight that are still within their deadline.
std::size_t active_sends(const mailer_state& st) {
  std::size_t n = 0;
  for (const auto& [id, send] : st.sending)
    n += send.past_deadline ? 0 : 1;
  return n;
}

/// Answers a pending flush once nothing is being claimed, sent (within its
/// deadline) or recorded.
void maybe_finish_flush(self_ptr self) {
  auto& st = self->state;
  if (!st.stopping || st.claiming || active_sends(st) > 0
      || st.records_in_flight > 0)
    return;
  for (auto& rp : st.flush_waiters)
    rp.deliver(st.released);
  st.flush_waiters.clear();
}

void record(self_ptr self, db::unit u, std::int64_t first_failure_ms,
            std::int32_t retries);

/// An outcome write failed (the database unreachable, a failover, a
/// timeout): it is tried again with backoff (0.1 s doubling to 1 s) for up
/// to an hour, and this mailer claims nothing while it owes one. Dropped,
/// the job would go back to the queue when its lease ends and be sent a
/// second time (the PostgreSQL-restart drill of
/// tests/integration/test_multi_node.py showed it); a claim of this node
/// before the write would take its own job back. Writing it late is right:
/// a delivery is a fact (mark_sent is not fenced by the lease). A stopping
/// mailer gives up at once: its flush must not wait for a database that is
/// gone.
void record_failed(self_ptr self, db::unit u, std::int64_t first_failure_ms,
                   std::int32_t retries, const std::string& why) {
  auto& st = self->state;
  st.saw_db_failure = true;
  auto now_ms = st.opts.clock->unix_ms();
  if (first_failure_ms == 0)
    first_failure_ms = now_ms;
  bool give_up
      = st.stopping || now_ms - first_failure_ms > std::int64_t{3600} * 1000;
  log::error("mailer", "job-record-failed",
             {{"error", why}, {"retries", retries}, {"retrying", !give_up}});
  if (give_up)
    return maybe_finish_flush(self);
  // Still owed: a flush waits for it like for a write in flight.
  ++st.records_in_flight;
  ++st.records_owed;
  auto delay = std::chrono::milliseconds(
      std::min<std::int64_t>(1000, std::int64_t{100} << std::min(retries, 4)));
  self->delayed_send(self, delay, atom::write_atom_v, std::move(u),
                     first_failure_ms, retries + 1);
}

/// Writes one attempt's outcome on the job. Not waited for while sending,
/// but a flush waits for it, so that a clean stop records every delivery;
/// a failed write is tried again (record_failed).
void record(self_ptr self, db::unit u, std::int64_t first_failure_ms = 0,
            std::int32_t retries = 0) {
  if (auto& batch = self->state.record_batch) {
    for (auto& s : u.statements)
      batch->statements.push_back(std::move(s));
    return;
  }
  ++self->state.records_in_flight;
  // The request holds one copy; the error handler keeps the unit to write
  // it again (the request expression is evaluated before then()'s
  // arguments, so the move below comes after the copy).
  self->request(self->state.db, db_timeout, atom::write_atom_v, u)
      .then(
          [self](db::unit_result& r) {
            --self->state.records_in_flight;
            // A failed unit (a constraint) would fail again; the database
            // being unreachable or refusing writes arrives as an error.
            if (!r.ok)
              log::error("mailer", "job-record-failed",
                         {{"error", r.fail_code}, {"retrying", false}});
            maybe_finish_flush(self);
          },
          [self, u = std::move(u), first_failure_ms,
           retries](caf::error& e) mutable {
            --self->state.records_in_flight;
            record_failed(self, std::move(u), first_failure_ms, retries,
                          caf::to_string(e));
          });
}

void record(self_ptr self, db::statement s) {
  db::unit u;
  u.statements.push_back(std::move(s));
  record(self, std::move(u));
}

/// Records a permanent failure of job `id`.
void fail_permanently(self_ptr self, const std::string& id,
                      const std::string& template_name, std::uint32_t attempts,
                      const std::string& reason, const std::string& err) {
  auto& st = self->state;
  if (erased_when_finished(template_name))
    record(self, store::erase(id));
  else
    record(self, store::mark_failed(id, err));
  caf::anon_send(st.metrics, metrics::inc("emails_failed_total", {reason}));
  st.status.last_failure = unix_now(self);
  st.status.last_error = err;
  log::error("mailer", "mail-failed",
             {{"job_id", id},
              {"reason", reason},
              {"error", err},
              {"attempts", attempts}});
}

/// The gauges of the messages in flight and of those past their deadline.
void publish_sends(self_ptr self) {
  auto& st = self->state;
  std::size_t messages = 0;
  for (const auto& [id, send] : st.sending)
    messages += send.jobs.size();
  st.status.sending = static_cast<std::int32_t>(messages);
  st.status.workers = static_cast<std::int32_t>(st.live_workers);
  caf::anon_send(st.metrics,
                 metrics::set("email_sends_in_flight",
                              static_cast<double>(st.status.sending)));
  caf::anon_send(
      st.metrics,
      metrics::set("email_sends_stuck", static_cast<double>(st.status.stuck)));
}

/// Takes `job` off its scan; the scan is complete once none is left. Counted
/// so that operators (and tests) can see the queue is looked at, e.g. that
/// a job is not picked up again in the scans after it was sent.
void job_done(self_ptr self, mail_pending& job) {
  if (job.scan_counted || !job.scan)
    return;
  job.scan_counted = true;
  if (--job.scan->outstanding == 0 && job.scan->claimed)
    caf::anon_send(self->state.metrics,
                   metrics::inc("email_queue_polls_total"));
}

/// Renders one claimed job into a complete message and queues it for a
/// worker; a job that can never be sent fails here.
void prepare(self_ptr self, const store::claimed_job& claimed,
             const std::shared_ptr<mail_scan>& scan) {
  auto& st = self->state;
  const auto& cfg = *st.opts.cfg;
  if (st.held.count(claimed.id) != 0) {
    // Ours already (its lease ran out while it was prepared or sending):
    // the claim renewed the lease; one send of it is enough.
    for (auto& p : st.pending)
      if (p->id == claimed.id)
        p->lease_until = claimed.lease_until;
    return;
  }
  mail_pending job;
  job.id = claimed.id;
  job.attempts = claimed.attempts;
  job.created_at = claimed.created_at;
  job.lease_until = claimed.lease_until;
  job.template_name = claimed.template_name;
  auto fail = [&](const std::string& reason, const std::string& err) {
    fail_permanently(self, job.id, job.template_name, job.attempts, reason,
                     err);
  };
  auto vars_bytes = auth::secret_box::open(
      st.opts.keys->payloads, auth::to_bytes(claimed.vars_enc), job.id);
  if (!vars_bytes)
    return fail("undecryptable", "job variables cannot be decrypted");
  auto vars
      = nlohmann::json::parse(auth::to_string(*vars_bytes), nullptr, false);
  if (!vars.is_object())
    return fail("invalid_job", "job variables are not an object");
  vars["app_name"] = cfg.mail.from_name;
  const auto& locale = claimed.locale;
  auto rendered
      = st.opts.templates->render(claimed.template_name, locale, vars);
  if (!rendered)
    return fail("template", rendered.err().message);
  mail::message_fields m;
  m.from = {cfg.mail.from_name, cfg.mail.from};
  m.to = {"", claimed.to_email};
  m.subject = rendered->subject;
  m.text = rendered->text;
  m.html = rendered->html;
  m.message_id = claimed.message_id;
  m.date = wall_now(self);
  m.language = locale;
  auto message = mail::build_message(m);
  if (!message)
    return fail("invalid_message", message.err().message);
  job.message_id = m.message_id;
  job.to = m.to.address;
  job.message = std::move(*message);
  job.scan = scan;
  ++scan->outstanding;
  st.held.insert(job.id);
  st.pending.push_back(std::make_shared<mail_pending>(std::move(job)));
}

/// Records what one attempt of `job` came to.
void outcome(self_ptr self, const mail_pending& job,
             const mail::send_result& res) {
  auto& st = self->state;
  const auto& cfg = *st.opts.cfg;
  const auto& id = job.id;
  auto attempts = job.attempts;
  if (res.status == mail::send_status::ok) {
    if (erased_when_finished(job.template_name))
      record(self, store::erase(id));
    else
      record(self, store::mark_sent(id, unix_now(self)));
    caf::anon_send(st.metrics, metrics::inc("emails_sent_total"));
    st.status.last_success = unix_now(self);
    st.status.consecutive_failures = 0;
    // The location is a file path or the relay URL; never the contents.
    log::info("mailer", "mail-sent",
              {{"job_id", id},
               {"message_id", job.message_id},
               {"location", res.location},
               {"attempts", attempts}});
    return;
  }
  auto err = res.error.empty() ? std::string("send failed") : res.error;
  ++st.status.consecutive_failures;
  if (res.status == mail::send_status::permanent_failure)
    return fail_permanently(self, id, job.template_name, attempts, "permanent",
                            err);
  mail::retry_policy policy;
  policy.first_delay = std::chrono::seconds(cfg.mail.retry_first_delay);
  policy.cap = std::chrono::seconds(cfg.mail.retry_cap);
  policy.deadline = std::chrono::seconds(cfg.mail.retry_deadline);
  if (mail::give_up(from_unix(job.created_at), wall_now(self), policy))
    return fail_permanently(self, id, job.template_name, attempts, "deadline",
                            err);
  auto next = mail::next_attempt(attempts, wall_now(self), policy,
                                 mail::default_random_source());
  auto next_unix = std::chrono::duration_cast<std::chrono::seconds>(
                       next.time_since_epoch())
                       .count();
  record(self, store::reschedule(id, st.owner, err, next_unix));
  caf::anon_send(st.metrics,
                 metrics::inc("emails_failed_total", {"temporary"}));
  st.status.last_failure = unix_now(self);
  st.status.last_error = err;
  log::warn("mailer", "mail-retry-scheduled",
            {{"job_id", id},
             {"attempts", attempts},
             {"error", err},
             {"smtp_code", res.smtp_code},
             {"next_attempt_at", next_unix}});
}

/// How long a send may take before it counts as stuck: mail.send_deadline,
/// or derived from the transport's own timeouts, which should always end it
/// first (the watchdog is for when they do not, as curl's did for the
/// answer to DATA; see mail/smtp_transport.cpp).
std::chrono::milliseconds send_deadline(const config::settings& cfg) {
  double s = cfg.mail.send_deadline;
  if (s <= 0)
    s = cfg.mail.transport == "smtp"
            ? cfg.smtp.connect_timeout + cfg.smtp.timeout + 5
            : 60;
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

/// Messages one worker call may carry: the transport's batch_limit(), known
/// here from the settings (the workers own the transports).
std::size_t batch_limit(const config::settings& cfg) {
  if (cfg.mail.transport == "smtp")
    return 1;
  return static_cast<std::size_t>(
      std::max<std::int64_t>(1, cfg.mail.outbox_batch));
}

void spawn_worker(self_ptr self) {
  auto& st = self->state;
  // Linked: the workers go down with the mailer (after the send they may be
  // in), and a worker that dies takes the mailer with it (the supervisor
  // restarts the mailer; the leases bring the claimed jobs back).
  st.idle.push_back(
      self->spawn<caf::detached + caf::linked>(mail_worker_impl, st.opts.cfg));
  ++st.live_workers;
}

void scan(self_ptr self);
void pump(self_ptr self);

/// How long after the database came back claims leave other owners' lapsed
/// leases alone: well past the longest gap between an owner's retries of an
/// outcome write (1 s, record_failed) plus its DB actor's reconnect backoff
/// (write_retry_ms, 0.25 s). A node that really died loses its mails' lease
/// only this much later.
constexpr std::int64_t lapsed_lease_settle_ms = 5000;

/// The outcome of a message the worker gave no answer for.
mail::send_result temporary_failure(std::string error) {
  mail::send_result r;
  r.status = mail::send_status::temporary_failure;
  r.error = std::move(error);
  return r;
}

/// A worker answered send `id` (`results`, one per job; a job past the end
/// of `results` gets `missing`): records the outcomes (one database unit for
/// the batch) and gives the worker back, or lets it go when it was replaced
/// while stuck.
void send_ended(self_ptr self, std::uint64_t id,
                const std::vector<mail::send_result>& results,
                const mail::send_result& missing) {
  auto& st = self->state;
  auto it = st.sending.find(id);
  if (it == st.sending.end())
    return;
  auto send = std::move(it->second);
  st.sending.erase(it);
  auto seconds
      = static_cast<double>(st.opts.clock->steady_ns() - send.started_ns) / 1e9;
  st.record_batch.emplace();
  for (std::size_t i = 0; i < send.jobs.size(); ++i) {
    auto& job = *send.jobs[i];
    // Each message waited for the whole batch's handover.
    caf::anon_send(st.metrics,
                   metrics::observe("email_send_duration_seconds", seconds));
    outcome(self, job, i < results.size() ? results[i] : missing);
    st.held.erase(job.id);
  }
  auto batch = std::move(*st.record_batch);
  st.record_batch.reset();
  if (!batch.statements.empty())
    record(self, std::move(batch));
  // Only now, with the outcomes' write on its way to the DB actor: a scan
  // counted complete (email_queue_polls_total) has its outcomes queued
  // ahead of any read that follows it (tests/actors/mailer_lease_test.cpp
  // reads the job's state once the scan is counted).
  for (const auto& job : send.jobs)
    job_done(self, *job);
  if (send.past_deadline) {
    st.status.stuck -= static_cast<std::int32_t>(send.jobs.size());
    log::info(
        "mailer", "mail-send-unstuck",
        {{"job_id", send.jobs.front()->id},
         {"messages", send.jobs.size()},
         {"outcome", (results.empty() ? missing : results.front()).error}});
  }
  auto wanted = static_cast<std::size_t>(st.opts.cfg->mail.workers);
  if (send.past_deadline && st.live_workers > wanted) {
    // A replacement took this worker's place while it was stuck.
    caf::anon_send(send.worker, atom::flush_atom_v);
    --st.live_workers;
  } else {
    st.idle.push_back(std::move(send.worker));
  }
  publish_sends(self);
  pump(self);
}

/// Hands `jobs` to an idle worker as one batch, with a deadline.
void dispatch(self_ptr self, std::vector<std::shared_ptr<mail_pending>> jobs) {
  auto& st = self->state;
  auto worker = std::move(st.idle.back());
  st.idle.pop_back();
  auto id = ++st.next_send;
  std::vector<mail_delivery> batch;
  batch.reserve(jobs.size());
  for (const auto& job : jobs)
    batch.push_back(
        {st.opts.cfg->mail.from, job->to, job->message_id, job->message});
  mail_send send;
  send.jobs = std::move(jobs);
  send.worker = worker;
  send.started_ns = st.opts.clock->steady_ns();
  st.sending.emplace(id, std::move(send));
  // No request timeout: an answer we stopped waiting for could be a
  // delivery we never record. The deadline below only flags the send.
  self->request(worker, caf::infinite, atom::deliver_atom_v, std::move(batch))
      .then(
          [self, id](std::vector<mail_delivery_result>& answers) {
            std::vector<mail::send_result> results;
            results.reserve(answers.size());
            for (auto& a : answers) {
              mail::send_result r;
              r.status = static_cast<mail::send_status>(a.status);
              r.smtp_code = a.smtp_code;
              r.error = std::move(a.error);
              r.location = std::move(a.location);
              results.push_back(std::move(r));
            }
            // Built once: every answered batch passes it, few ever use it.
            static const auto no_result
                = temporary_failure("mail worker: no result for this message");
            send_ended(self, id, results, no_result);
          },
          [self, id](caf::error& e) {
            send_ended(self, id, {},
                       temporary_failure("mail worker: " + caf::to_string(e)));
          });
  self->delayed_send(self, send_deadline(*st.opts.cfg), atom::tick_atom_v, id);
}

/// Send `id` is still in flight at its deadline: the transport did not end
/// it within its own timeouts. It is counted as stuck and a new worker takes
/// its place (up to mail.workers replacements at a time), so the queue keeps
/// draining; the jobs stay leased ("sending"), and their outcomes are
/// recorded whenever the transport ends the batch, or the leases bring them
/// back.
void send_overdue(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.sending.find(id);
  if (it == st.sending.end() || it->second.past_deadline)
    return;
  it->second.past_deadline = true;
  auto& jobs = it->second.jobs;
  st.status.stuck += static_cast<std::int32_t>(jobs.size());
  auto wanted = static_cast<std::size_t>(st.opts.cfg->mail.workers);
  bool replaced = !st.stopping && st.live_workers < 2 * wanted;
  for (const auto& job : jobs)
    log::error("mailer", "mail-send-stuck",
               {{"job_id", job->id},
                {"attempts", job->attempts},
                {"deadline_ms", send_deadline(*st.opts.cfg).count()},
                {"worker_replaced", replaced}});
  caf::anon_send(st.metrics,
                 metrics::inc("email_send_deadline_exceeded_total"));
  st.status.last_failure = unix_now(self);
  st.status.last_error = "send past mail.send_deadline";
  for (const auto& job : jobs)
    job_done(self, *job);
  if (replaced)
    spawn_worker(self);
  publish_sends(self);
  pump(self);
}

/// Moves prepared jobs to idle workers; claims more when the last claim was
/// full or a wake came while no claim could start. On a stop, claimed jobs
/// not yet handed over go back to the queue.
void pump(self_ptr self) {
  auto& st = self->state;
  if (st.stopping && !st.pending.empty()) {
    // Claimed but never handed to the relay: back to the queue as if this
    // attempt had not happened, so the next start sends them at once.
    db::unit u;
    for (const auto& job : st.pending) {
      u.statements.push_back(store::release(job->id, st.owner));
      st.held.erase(job->id);
      job_done(self, *job);
    }
    st.released += static_cast<std::int32_t>(st.pending.size());
    st.pending.clear();
    record(self, std::move(u));
  }
  db::unit lapsed;
  auto limit = batch_limit(*st.opts.cfg);
  while (!st.pending.empty() && !st.idle.empty()) {
    // What is claimed is spread over the free workers, up to a batch each:
    // a lone mail goes at once, alone; a full claim keeps every worker busy.
    auto share = (st.pending.size() + st.idle.size() - 1) / st.idle.size();
    auto take = std::min(limit, std::max<std::size_t>(1, share));
    std::vector<std::shared_ptr<mail_pending>> jobs;
    while (jobs.size() < take && !st.pending.empty()) {
      auto job = std::move(st.pending.front());
      st.pending.pop_front();
      if (job->lease_until <= unix_now(self)) {
        // Its lease ran out while it waited for a worker: another node may
        // have taken it over, so it is not sent from here. Handed back (if
        // still ours), it is claimed again with a fresh lease.
        lapsed.statements.push_back(store::release(job->id, st.owner));
        st.held.erase(job->id);
        job_done(self, *job);
        log::info("mailer", "mail-lease-lapsed", {{"job_id", job->id}});
        st.wake_again = true;
        continue;
      }
      jobs.push_back(std::move(job));
    }
    if (!jobs.empty())
      dispatch(self, std::move(jobs));
  }
  if (!lapsed.statements.empty())
    record(self, std::move(lapsed));
  publish_sends(self);
  if (st.stopping)
    return maybe_finish_flush(self);
  if (st.pending.empty() && (st.batch_full || st.wake_again))
    scan(self);
}

/// Claims up to a batch of due jobs (queued and due, or sending with an
/// expired lease) and hands them to the workers. A claim starts only when
/// every job of the last one is with a worker and one is free; otherwise it
/// is remembered and made as soon as that holds.
void scan(self_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  // Owing an outcome write: a claim now could take back a job this node
  // already sent (its lease ran out while the database was away).
  if (st.claiming || !st.pending.empty() || st.idle.empty()
      || st.records_owed > 0) {
    st.wake_again = true;
    return;
  }
  st.claiming = true;
  st.wake_again = false;
  st.batch_full = false;
  auto now = unix_now(self);
  const auto& cfg = *st.opts.cfg;
  auto engine
      = cfg.database.url.empty() ? db::backend::sqlite : db::backend::postgres;
  // Right after an outage the owner of a lease that lapsed meanwhile may
  // have sent the job and still be retrying the write that says so
  // (record_failed: every second at most); taking the job over now would
  // send it twice (the PostgreSQL-restart drill of test_multi_node.py saw
  // it). So the first claim that works again, and those in the settle
  // window after it, take only queued jobs.
  bool take_over
      = !st.saw_db_failure && st.opts.clock->unix_ms() >= st.take_over_after_ms;
  db::unit claim;
  claim.statements.push_back(
      store::claim_due(engine, now, now + cfg.mail.lease_timeout, st.owner,
                       cfg.mail.claim_batch, take_over));
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(claim))
      .then(
          [self](db::unit_result& r) {
            auto& st = self->state;
            st.claiming = false;
            if (st.saw_db_failure) {
              st.saw_db_failure = false;
              st.take_over_after_ms
                  = st.opts.clock->unix_ms() + lapsed_lease_settle_ms;
            }
            auto scan = std::make_shared<mail_scan>();
            std::size_t n = 0;
            if (r.ok && !r.results.empty()) {
              auto jobs = store::decode_claimed(r.results[0]);
              n = jobs.size();
              for (const auto& job : jobs)
                prepare(self, job, scan);
            }
            scan->claimed = true;
            if (scan->outstanding == 0)
              caf::anon_send(st.metrics,
                             metrics::inc("email_queue_polls_total"));
            st.batch_full
                = n == static_cast<std::size_t>(st.opts.cfg->mail.claim_batch);
            pump(self);
          },
          [self](caf::error& e) {
            self->state.claiming = false;
            self->state.saw_db_failure = true;
            log::warn("mailer", "claim-failed", {{"error", caf::to_string(e)}});
            maybe_finish_flush(self);
          });
}

void refresh_depth(self_ptr self) {
  auto now = unix_now(self);
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                store::depth(now))
      .then(
          [self, now](db::rowset& rs) {
            auto& st = self->state;
            auto d = store::decode_depth(rs);
            st.status.queue_depth = d.depth;
            auto oldest = d.oldest;
            st.status.oldest_due_age = oldest ? now - oldest : 0;
            caf::anon_send(
                st.metrics,
                metrics::set("email_queue_depth",
                             static_cast<double>(st.status.queue_depth)));
            caf::anon_send(
                st.metrics,
                metrics::set("email_queue_oldest_due_age_seconds",
                             static_cast<double>(st.status.oldest_due_age)));
          },
          [](caf::error&) {});
}

/// Deletes finished jobs (sent or failed) created more than
/// mail.retention_days ago; queued and sending jobs are work, never purged.
void purge(self_ptr self) {
  auto days = self->state.opts.cfg->mail.retention_days;
  run_retention_purge(
      self, self->state.db,
      store::purge_finished(unix_now(self) - days * 86400),
      retention_purge{"mailer", "mail-jobs-purged", "mail-purge-failed", days});
}

} // namespace

std::unique_ptr<mail::transport> make_transport(const config::settings& cfg) {
  if (cfg.mail.transport == "smtp") {
    mail::smtp_config sc;
    sc.host = cfg.smtp.host;
    sc.port = cfg.smtp.port;
    sc.security = mail::parse_smtp_security(cfg.smtp.security)
                      .value_or(mail::smtp_security::starttls);
    sc.username = cfg.smtp.username;
    sc.password = cfg.smtp.password;
    sc.ca_file = cfg.smtp.ca_file;
    sc.pinned_public_key = cfg.smtp.pinned_public_key;
    sc.connect_timeout = std::chrono::milliseconds(
        static_cast<long long>(cfg.smtp.connect_timeout * 1000));
    sc.timeout = std::chrono::milliseconds(
        static_cast<long long>(cfg.smtp.timeout * 1000));
    return std::make_unique<mail::smtp_transport>(sc);
  }
  return std::make_unique<mail::outbox_transport>(
      cfg.mail.outbox_dir, static_cast<std::size_t>(cfg.mail.outbox_batch));
}

mail_worker_actor::behavior_type
mail_worker_impl(mail_worker_actor::stateful_pointer<mail_worker_state> self,
                 const std::shared_ptr<const config::settings>& cfg) {
  self->state.transport = make_transport(*cfg);
  return {
      [=](atom::flush_atom) { self->quit(); },
      [=](atom::deliver_atom, std::vector<mail_delivery>& batch)
          -> std::vector<mail_delivery_result> {
        std::vector<mail::outgoing> messages;
        messages.reserve(batch.size());
        for (auto& d : batch) {
          mail::outgoing m;
          m.env.mail_from = std::move(d.mail_from);
          m.env.recipients = {std::move(d.to)};
          m.env.message_id = std::move(d.message_id);
          m.message = std::move(d.message);
          messages.push_back(std::move(m));
        }
        auto results = self->state.transport->send_batch(messages);
        std::vector<mail_delivery_result> out;
        out.reserve(results.size());
        for (auto& r : results)
          out.push_back({static_cast<std::int32_t>(r.status),
                         static_cast<std::int32_t>(r.smtp_code),
                         std::move(r.error), std::move(r.location)});
        return out;
      },
  };
}

mailer_actor::behavior_type
mailer_impl(mailer_actor::stateful_pointer<mailer_state> self,
            mailer_options opts, db_actor db, metrics_actor metrics) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.owner = lease_owner_token();
  st.db = std::move(db);
  st.metrics = std::move(metrics);
  for (std::int64_t i = 0; i < st.opts.cfg->mail.workers; ++i)
    spawn_worker(self);
  st.status.transport = st.opts.cfg->mail.transport;
  publish_sends(self);
  self->send(self, atom::tick_atom_v);
  self->send(self, atom::purge_atom_v);
  return {
      [=](atom::wake_atom) { scan(self); },
      [=](atom::tick_atom, std::uint64_t send_id) {
        send_overdue(self, send_id);
      },
      [=](atom::purge_atom) { purge(self); },
      [=](atom::write_atom, db::unit& u, std::int64_t first_failure_ms,
          std::int32_t retries) {
        // The retry's own place in records_in_flight becomes the write's.
        --self->state.records_in_flight;
        --self->state.records_owed;
        record(self, std::move(u), first_failure_ms, retries);
      },
      [=](atom::tick_atom) {
        scan(self);
        refresh_depth(self);
        auto ms = static_cast<long long>(
            self->state.opts.cfg->mail.poll_interval * 1000);
        self->delayed_send(self, std::chrono::milliseconds(ms),
                           atom::tick_atom_v);
      },
      [=](atom::status_atom) { return self->state.status; },
      [=](atom::flush_atom) -> caf::result<std::int32_t> {
        auto rp = self->make_response_promise<std::int32_t>();
        self->state.stopping = true;
        self->state.flush_waiters.push_back(rp);
        maybe_finish_flush(self);
        return rp;
      },
  };
}

} // namespace authsvc
