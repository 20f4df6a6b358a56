#include "db/flows_store.hpp"

#include "db/email_change_store.hpp"
#include "db/lockout_store.hpp"

namespace authsvc::db::flows_store {

// -- starting a flow ----------------------------------------------------------

statement read_start_facts(const std::string& email, std::int64_t sent_since,
                           const std::string& budget_key) {
  // The send caps count per mailbox (budget_key), so plus-tag variants of
  // one address share its budget.
  return stmt(
      "SELECT (SELECT id FROM users WHERE email = ?1 AND disabled = 0) AS "
      "user_id,"
      " (SELECT locale FROM users WHERE email = ?1) AS user_locale,"
      " "
          // One budget per mailbox: the mails of email changes count too.
          + sent_since_sql("?3", "?2") + " + "
          + email_change_store::sent_since_sql("?3", "?2")
          + " AS sent_last_hour, MAX(" + last_sent_sql("?3") + ", "
          + email_change_store::last_sent_sql("?3") + ") AS last_sent",
      {value::text(email), value::integer(sent_since),
       value::text(budget_key)});
}

start_facts decode_start_facts(const rowset& rs) {
  start_facts f;
  f.known = !rs.at(0, "user_id").is_null();
  f.user_locale = rs.at(0, "user_locale").s;
  f.sent_last_hour = rs.at(0, "sent_last_hour").i;
  f.last_sent = rs.at(0, "last_sent").i;
  return f;
}

std::vector<statement> send_budget_guard(backend engine,
                                         const std::string& budget_key,
                                         std::int64_t sent_since,
                                         std::int64_t hourly_cap,
                                         std::int64_t last_sent_before) {
  std::vector<statement> out;
  if (engine == backend::postgres) {
    // FNV-1a: the same key on every node (std::hash promises no such thing).
    std::uint32_t h = 2166136261u;
    for (unsigned char c : budget_key)
      h = (h ^ c) * 16777619u;
    // The two-key form keeps these locks apart from the migration lock; the
    // first key is "pa" (send budgets).
    // Tried, not waited for: a wait would hold this node's whole group
    // commit behind another node's, and two groups could wait on each
    // other. Held by another transaction means a start to this mailbox is
    // being written right now, elsewhere: this one is over budget.
    out.push_back(stmt_one(
        "SELECT 1 AS locked WHERE "
        "pg_try_advisory_xact_lock(CAST(?1 AS INTEGER), "
        "CAST(?2 AS INTEGER))",
        {value::integer(0x7061), value::integer(static_cast<std::int32_t>(h))},
        "send_cap"));
  }
  out.push_back(
      stmt_one("SELECT 1 AS within WHERE " + sent_since_sql("?1", "?2") + " + "
                   + email_change_store::sent_since_sql("?1", "?2")
                   + " < ?3 AND MAX(" + last_sent_sql("?1") + ", "
                   + email_change_store::last_sent_sql("?1") + ") <= ?4",
               {value::text(budget_key), value::integer(sent_since),
                value::integer(hourly_cap), value::integer(last_sent_before)},
               "send_cap"));
  return out;
}

statement insert_flow(const new_flow& f) {
  return stmt(
      "INSERT INTO email_flows(id, email, flow_secret_hash, link_hash, "
      "code_hash, redirect_to, locale, ip, user_agent, status, mailed, "
      "created_at, expires_at, match_number, match_choices, budget_key) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
      {value::text(f.id), value::text(f.email), value::text(f.flow_secret_hash),
       value::text(f.link_hash), value::text(f.code_hash),
       f.redirect_to ? value::text(*f.redirect_to) : value::null(),
       value::text(f.locale), value::text(f.ip), value::text(f.user_agent),
       value::text(f.status), value::integer(f.mailed ? 1 : 0),
       value::integer(f.created_at), value::integer(f.expires_at),
       value::integer(f.match_number), value::text(f.match_choices),
       value::text(f.budget_key)});
}

// -- email change (account lifecycle): one send budget per mailbox --

std::string sent_since_sql(const std::string& budget_param,
                           const std::string& since_param) {
  return "(SELECT COUNT(*) FROM email_flows WHERE budget_key = " + budget_param
         + " AND mailed = 1 AND created_at > " + since_param + ")";
}

std::string last_sent_sql(const std::string& budget_param) {
  return "(SELECT COALESCE(MAX(created_at), 0) FROM email_flows WHERE "
         "budget_key = "
         + budget_param + " AND mailed = 1)";
}

// -- the link -----------------------------------------------------------------

statement pending_by_link(const std::string& link_hash, std::int64_t now) {
  return stmt("SELECT ip, user_agent, created_at, match_choices FROM "
              "email_flows WHERE link_hash = ? AND status = 'pending' "
              "AND expires_at > ?",
              {value::text(link_hash), value::integer(now)});
}

std::optional<link_view> decode_link_view(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  link_view v;
  v.ip = rs.at(0, "ip").s;
  v.user_agent = rs.at(0, "user_agent").s;
  v.created_at = rs.at(0, "created_at").i;
  v.match_choices = rs.at(0, "match_choices").s;
  return v;
}

consumed_flow decode_consumed(const rowset& rs) {
  consumed_flow f;
  f.id = rs.at(0, "id").s;
  f.email = rs.at(0, "email").s;
  f.redirect_to = rs.at(0, "redirect_to").s;
  f.status = rs.at(0, "status").s;
  f.ip = rs.at(0, "ip").s;
  return f;
}

statement collect_by_link(const std::string& link_hash, std::int64_t now,
                          const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_flows SET status = 'collected', consumed_at = ?1 "
      "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
      "RETURNING id, email, redirect_to",
      {value::integer(now), value::text(link_hash)}, fail_code);
}

statement approve_by_link(const std::string& link_hash, std::int64_t now,
                          std::int64_t match, const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_flows SET consumed_at = ?1, status = CASE WHEN "
      "match_number = ?3 THEN 'approved' ELSE 'dead' END "
      "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
      "AND match_number IS NOT NULL RETURNING id, email, status",
      {value::integer(now), value::text(link_hash), value::integer(match)},
      fail_code);
}

statement deny_by_link(const std::string& link_hash, std::int64_t now,
                       const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_flows SET status = 'dead', consumed_at = ?1 "
      "WHERE link_hash = ?2 AND status = 'pending' AND expires_at > ?1 "
      "RETURNING id, email, ip",
      {value::integer(now), value::text(link_hash)}, fail_code);
}

// -- the code -----------------------------------------------------------------

statement count_code_attempt(const std::string& flow_id, std::int64_t now,
                             std::int64_t max_attempts,
                             const std::string& source,
                             const std::string& lockout_method,
                             const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_flows SET code_attempts = code_attempts + 1 "
      "WHERE id = ?1 AND status = 'pending' AND expires_at > ?2 "
      "AND code_attempts < ?3 RETURNING email, code_hash, code_attempts, "
      "(SELECT id FROM users WHERE users.email = email_flows.email) AS "
      "user_id, "
          + lockout_store::locked_until_sql(
              "(SELECT id FROM users WHERE users.email = email_flows.email)",
              lockout_method, "?4")
          + " AS locked_until",
      {value::text(flow_id), value::integer(now), value::integer(max_attempts),
       value::text(source)},
      fail_code);
}

code_attempt decode_code_attempt(const rowset& rs) {
  code_attempt a;
  a.email = rs.at(0, "email").s;
  a.code_hash = rs.at(0, "code_hash").s;
  a.attempts = rs.at(0, "code_attempts").i;
  a.user_id = rs.at(0, "user_id").s;
  a.locked_until = rs.at(0, "locked_until").i;
  return a;
}

statement kill_flow(const std::string& flow_id) {
  return stmt("UPDATE email_flows SET status = 'dead' WHERE id "
              "= ? AND status = 'pending'",
              {value::text(flow_id)});
}

statement collect_by_code(const std::string& flow_id, std::int64_t now,
                          const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_flows SET status = 'collected', consumed_at = ? "
      "WHERE id = ? AND status = 'pending' RETURNING email",
      {value::integer(now), value::text(flow_id)}, fail_code);
}

// -- the starter's exchange ---------------------------------------------------

statement read_for_exchange(const std::string& flow_id) {
  return stmt("SELECT status, flow_secret_hash, expires_at FROM "
              "email_flows WHERE id = ?",
              {value::text(flow_id)});
}

std::optional<exchange_view> decode_exchange_view(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  exchange_view v;
  v.status = rs.at(0, "status").s;
  v.flow_secret_hash = rs.at(0, "flow_secret_hash").s;
  v.expires_at = rs.at(0, "expires_at").i;
  return v;
}

statement collect_approved(const std::string& flow_id,
                           const std::string& secret_hash,
                           const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_flows SET status = 'collected' WHERE id = ? AND "
      "status = 'approved' AND flow_secret_hash = ? RETURNING email",
      {value::text(flow_id), value::text(secret_hash)}, fail_code);
}

// -- exchange codes -----------------------------------------------------------

statement insert_exchange_code(const std::string& code_hash,
                               const std::string& session_id,
                               const std::string& payload_enc, std::int64_t now,
                               std::int64_t expires_at) {
  return stmt("INSERT INTO exchange_codes(code_hash, session_id, payload_enc, "
              "created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
              {value::text(code_hash), value::text(session_id),
               value::blob(payload_enc), value::integer(now),
               value::integer(expires_at)});
}

statement take_exchange_code(const std::string& code_hash, std::int64_t now,
                             const std::string& fail_code) {
  return stmt_one(
      "DELETE FROM exchange_codes WHERE code_hash = ? AND expires_at > ? "
      "RETURNING payload_enc",
      {value::text(code_hash), value::integer(now)}, fail_code);
}

std::string decode_exchange_payload(const rowset& rs) {
  return rs.at(0, "payload_enc").s;
}

// -- sessions --

statement purge_flows(std::int64_t now) {
  return stmt("DELETE FROM email_flows WHERE expires_at < ?",
              {value::integer(now - 86400)});
}

statement purge_exchange_codes(std::int64_t now) {
  return stmt("DELETE FROM exchange_codes WHERE expires_at < ?",
              {value::integer(now)});
}

statement remove_flows_of(const std::string& email) {
  return stmt("DELETE FROM email_flows WHERE email = ?", {value::text(email)});
}

// -- admin --

statement delete_for_email(const std::string& email) {
  return stmt("DELETE FROM email_flows WHERE email = ?", {value::text(email)});
}

} // namespace authsvc::db::flows_store
