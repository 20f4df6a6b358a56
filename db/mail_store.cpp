#include "db/mail_store.hpp"

namespace authsvc::db::mail_store {

// -- claiming ----------------------------------------------------------------

statement claim_due(backend engine, std::int64_t now, std::int64_t lease_until,
                    const std::string& owner, std::int64_t batch,
                    bool take_over_lapsed) {
  // PostgreSQL: the subquery locks the rows it picks and skips rows another
  // transaction holds, so two nodes never both lease one job; a row that
  // another claim changed and committed meanwhile is re-checked against the
  // WHERE (READ COMMITTED) and dropped when no longer due.
  std::string lock
      = engine == backend::postgres ? " FOR UPDATE SKIP LOCKED" : "";
  return stmt(
      "UPDATE mail_jobs SET status = 'sending', lease_until = ?, "
      "lease_owner = ?, attempts = attempts + 1 WHERE id IN (SELECT id FROM "
      "mail_jobs WHERE (status = 'queued' AND next_attempt_at <= ?) OR "
      "(status = 'sending' AND lease_until < ?) "
      "ORDER BY next_attempt_at LIMIT ?"
          + lock
          + ") RETURNING id, message_id, to_email, template, locale, "
            "vars_enc, attempts, created_at, lease_until",
      // No lease ends before 0: one statement shape either way.
      {value::integer(lease_until), value::text(owner), value::integer(now),
       value::integer(take_over_lapsed ? now : 0), value::integer(batch)});
}

std::vector<claimed_job> decode_claimed(const rowset& rs) {
  std::vector<claimed_job> out;
  out.reserve(rs.rows.size());
  for (std::size_t row = 0; row < rs.rows.size(); ++row) {
    claimed_job j;
    j.id = rs.at(row, "id").s;
    j.message_id = rs.at(row, "message_id").s;
    j.to_email = rs.at(row, "to_email").s;
    j.template_name = rs.at(row, "template").s;
    j.locale = rs.at(row, "locale").s;
    j.vars_enc = rs.at(row, "vars_enc").s;
    j.attempts = static_cast<std::uint32_t>(rs.at(row, "attempts").i);
    j.created_at = rs.at(row, "created_at").i;
    j.lease_until = rs.at(row, "lease_until").i;
    out.push_back(std::move(j));
  }
  return out;
}

statement release(const std::string& id, const std::string& owner) {
  return stmt(
      "UPDATE mail_jobs SET status = 'queued', lease_until = NULL, "
      "attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = 'sending' "
      "AND lease_owner = ?",
      {value::text(id), value::text(owner)});
}

// -- outcomes ----------------------------------------------------------------

statement mark_sent(const std::string& id, std::int64_t now) {
  return stmt("UPDATE mail_jobs SET status = 'sent', sent_at = ?, "
              "last_error = NULL, lease_until = NULL WHERE id = ?",
              {value::integer(now), value::text(id)});
}

statement mark_failed(const std::string& id, const std::string& error) {
  return stmt("UPDATE mail_jobs SET status = 'failed', "
              "last_error = ?, lease_until = NULL WHERE id = ?",
              {value::text(error), value::text(id)});
}

statement reschedule(const std::string& id, const std::string& owner,
                     const std::string& error, std::int64_t next_attempt_at) {
  return stmt("UPDATE mail_jobs SET status = 'queued', last_error = ?, "
              "next_attempt_at = ?, lease_until = NULL WHERE id = ? AND "
              "status = 'sending' AND lease_owner = ?",
              {value::text(error), value::integer(next_attempt_at),
               value::text(id), value::text(owner)});
}

statement erase(const std::string& id) {
  return stmt("DELETE FROM mail_jobs WHERE id = ?", {value::text(id)});
}

// -- reads -------------------------------------------------------------------

statement depth(std::int64_t now) {
  return stmt("SELECT COUNT(*) AS depth, COALESCE(MIN(CASE WHEN "
              "next_attempt_at <= ? THEN next_attempt_at END), 0) "
              "AS oldest FROM mail_jobs WHERE status IN "
              "('queued', 'sending')",
              {value::integer(now)});
}

queue_depth decode_depth(const rowset& rs) {
  queue_depth d;
  d.depth = rs.at(0, "depth").i;
  d.oldest = rs.at(0, "oldest").i;
  return d;
}

statement state_of(const std::string& id) {
  return stmt("SELECT id, status, attempts, COALESCE(lease_until, 0) AS "
              "lease_until, COALESCE(lease_owner, '') AS lease_owner, "
              "next_attempt_at, COALESCE(last_error, '') AS "
              "last_error FROM mail_jobs WHERE id = ?",
              {value::text(id)});
}

std::vector<job_state> decode_states(const rowset& rs) {
  std::vector<job_state> out;
  for (std::size_t row = 0; row < rs.rows.size(); ++row) {
    job_state j;
    j.id = rs.at(row, "id").s;
    j.status = rs.at(row, "status").s;
    j.attempts = static_cast<std::uint32_t>(rs.at(row, "attempts").i);
    j.lease_until = rs.at(row, "lease_until").i;
    j.lease_owner = rs.at(row, "lease_owner").s;
    j.next_attempt_at = rs.at(row, "next_attempt_at").i;
    j.last_error = rs.at(row, "last_error").s;
    out.push_back(std::move(j));
  }
  return out;
}

// -- retention ---------------------------------------------------------------

statement purge_finished(std::int64_t cutoff) {
  return stmt("DELETE FROM mail_jobs WHERE status IN ('sent', 'failed') "
              "AND created_at < ?",
              {value::integer(cutoff)});
}

// -- email sign-in --

statement queue_job(const std::string& job_id, const std::string& message_id,
                    const std::string& to_email,
                    const std::string& template_name, const std::string& locale,
                    const std::string& vars_enc, std::int64_t now) {
  return stmt(
      "INSERT INTO mail_jobs(id, message_id, to_email, template, locale, "
      "vars_enc, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
      {value::text(job_id), value::text(message_id), value::text(to_email),
       value::text(template_name), value::text(locale), value::blob(vars_enc),
       value::integer(now), value::integer(now)});
}

// -- sessions --

statement remove_jobs_to(const std::string& email) {
  return stmt("DELETE FROM mail_jobs WHERE to_email = ?", {value::text(email)});
}

// -- admin --

statement delete_for_recipient(const std::string& email) {
  return stmt("DELETE FROM mail_jobs WHERE to_email = ?", {value::text(email)});
}

} // namespace authsvc::db::mail_store
