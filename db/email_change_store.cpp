#include "db/email_change_store.hpp"

#include "db/flows_store.hpp"

namespace authsvc::db::email_change_store {

namespace {

const char* returned_columns
    = " RETURNING id, user_id, session_id, old_email, new_email, created_at, "
      "confirmed_at";

} // namespace

// -- the request --------------------------------------------------------------

statement read_request_facts(const std::string& user_id,
                             const std::string& new_email,
                             const std::string& budget_key,
                             std::int64_t sent_since) {
  // One budget per mailbox for every mail a stranger can make us send to
  // it: sign-in mails and the mails of email changes count together.
  return stmt(
      "SELECT (SELECT email FROM users WHERE id = ?1 AND disabled = 0) AS "
      "current_email,"
      " (SELECT id FROM users WHERE email = ?2) AS owner_id,"
      " (SELECT locale FROM users WHERE email = ?2) AS owner_locale,"
      " " + sent_since_sql("?3", "?4")
          + " + " + flows_store::sent_since_sql("?3", "?4")
          + " AS sent_last_hour, MAX(" + last_sent_sql("?3") + ", "
          + flows_store::last_sent_sql("?3") + ") AS last_sent",
      {value::text(user_id), value::text(new_email), value::text(budget_key),
       value::integer(sent_since)});
}

std::string sent_since_sql(const std::string& budget_param,
                           const std::string& since_param) {
  return "(SELECT COUNT(*) FROM email_changes WHERE budget_key = "
         + budget_param + " AND mailed = 1 AND created_at > " + since_param
         + ")";
}

std::string last_sent_sql(const std::string& budget_param) {
  return "(SELECT COALESCE(MAX(created_at), 0) FROM email_changes WHERE "
         "budget_key = "
         + budget_param + " AND mailed = 1)";
}

request_facts decode_request_facts(const rowset& rs) {
  request_facts f;
  f.current_email = rs.at(0, "current_email").s;
  f.owner_id = rs.at(0, "owner_id").s;
  f.owner_locale = rs.at(0, "owner_locale").s;
  f.sent_last_hour = rs.at(0, "sent_last_hour").i;
  f.last_sent = rs.at(0, "last_sent").i;
  return f;
}

statement supersede_pending(const std::string& user_id) {
  return stmt("UPDATE email_changes SET status = 'dead' WHERE user_id = ? "
              "AND status = 'pending'",
              {value::text(user_id)});
}

statement insert_change(const new_change& c) {
  return stmt(
      "INSERT INTO email_changes(id, user_id, session_id, old_email, "
      "new_email, link_hash, code_hash, cancel_hash, mailed, budget_key, ip, "
      "user_agent, status, created_at, expires_at, cancel_until) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
      {value::text(c.id), value::text(c.user_id), value::text(c.session_id),
       value::text(c.old_email), value::text(c.new_email),
       value::text(c.link_hash), value::text(c.code_hash),
       value::text(c.cancel_hash), value::integer(c.mailed ? 1 : 0),
       value::text(c.budget_key), value::text(c.ip), value::text(c.user_agent),
       value::text(c.status), value::integer(c.created_at),
       value::integer(c.expires_at), value::integer(c.cancel_until)});
}

// -- confirming ---------------------------------------------------------------

statement pending_by_link(const std::string& link_hash, std::int64_t now) {
  return stmt("SELECT new_email, ip, user_agent, created_at FROM "
              "email_changes WHERE link_hash = ? AND status = 'pending' AND "
              "expires_at > ?",
              {value::text(link_hash), value::integer(now)});
}

std::optional<link_view> decode_link_view(const rowset& rs) {
  if (rs.empty())
    return std::nullopt;
  link_view v;
  v.new_email = rs.at(0, "new_email").s;
  v.ip = rs.at(0, "ip").s;
  v.user_agent = rs.at(0, "user_agent").s;
  v.created_at = rs.at(0, "created_at").i;
  return v;
}

statement confirm_by_link(const std::string& link_hash, std::int64_t now,
                          const std::string& fail_code) {
  return stmt_one(std::string("UPDATE email_changes SET status = 'confirmed', "
                              "confirmed_at = ?1 WHERE link_hash = ?2 AND "
                              "status = 'pending' AND expires_at > ?1")
                      + returned_columns,
                  {value::integer(now), value::text(link_hash)}, fail_code);
}

statement confirm_by_id(const std::string& id, std::int64_t now,
                        const std::string& fail_code) {
  return stmt_one(std::string("UPDATE email_changes SET status = 'confirmed', "
                              "confirmed_at = ?1 WHERE id = ?2 AND "
                              "status = 'pending' AND expires_at > ?1")
                      + returned_columns,
                  {value::integer(now), value::text(id)}, fail_code);
}

change_row decode_change_row(const rowset& rs) {
  change_row c;
  c.id = rs.at(0, "id").s;
  c.user_id = rs.at(0, "user_id").s;
  c.session_id = rs.at(0, "session_id").s;
  c.old_email = rs.at(0, "old_email").s;
  c.new_email = rs.at(0, "new_email").s;
  c.created_at = rs.at(0, "created_at").i;
  c.confirmed_at = rs.at(0, "confirmed_at").i;
  return c;
}

statement count_code_attempt(const std::string& user_id, std::int64_t now,
                             std::int64_t max_attempts,
                             const std::string& fail_code) {
  return stmt_one(
      "UPDATE email_changes SET code_attempts = code_attempts + 1 "
      "WHERE user_id = ?1 AND status = 'pending' AND expires_at > ?2 "
      "AND code_attempts < ?3 RETURNING id, code_hash, code_attempts",
      {value::text(user_id), value::integer(now), value::integer(max_attempts)},
      fail_code);
}

code_attempt decode_code_attempt(const rowset& rs) {
  code_attempt a;
  a.id = rs.at(0, "id").s;
  a.code_hash = rs.at(0, "code_hash").s;
  a.attempts = rs.at(0, "code_attempts").i;
  return a;
}

statement kill_change(const std::string& id) {
  return stmt("UPDATE email_changes SET status = 'dead' WHERE id = ? AND "
              "status = 'pending'",
              {value::text(id)});
}

// -- cancelling ---------------------------------------------------------------

statement cancel_by_token(const std::string& cancel_hash, std::int64_t now,
                          const std::string& fail_code) {
  return stmt_one(std::string("UPDATE email_changes SET status = 'cancelled', "
                              "cancelled_at = ?1 WHERE cancel_hash = ?2 AND "
                              "status <> 'cancelled' AND cancel_until > ?1")
                      + returned_columns,
                  {value::integer(now), value::text(cancel_hash)}, fail_code);
}

statement end_pending_of(const value& user_id) {
  return stmt("UPDATE email_changes SET status = 'dead' WHERE user_id = ? AND "
              "status = 'pending'",
              {user_id});
}

} // namespace authsvc::db::email_change_store
