#include "db/stats_store.hpp"

namespace authsvc::db::stats_store {

statement read_totals(std::int64_t now) {
  return stmt(
      "SELECT (SELECT COUNT(*) FROM users) AS total_users, "
      "(SELECT COUNT(*) FROM users WHERE disabled = 1) AS disabled_users, "
      "(SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND "
      " expires_at > ?1 AND absolute_expires_at > ?1) AS active_sessions, "
      "(SELECT COUNT(*) FROM audit_logs WHERE event_type = "
      "'session.created' "
      " AND created_at > ?2) AS logins_24h, "
      "(SELECT COUNT(*) FROM mail_jobs WHERE status IN "
      "('queued','sending')) "
      " AS emails_queued, "
      "(SELECT COUNT(*) FROM mail_jobs WHERE status = 'failed') AS "
      "emails_failed, "
      "(SELECT COUNT(*) FROM webauthn_credentials) AS passkeys, "
      "(SELECT COUNT(*) FROM totp WHERE confirmed_at IS NOT NULL) AS "
      "totp_users, "
      "(SELECT COUNT(*) FROM webhook_deliveries WHERE status IN "
      " ('pending','delivering')) AS webhooks_pending",
      {value::integer(now), value::integer(now - 86400)});
}

totals decode_totals(const rowset& rs) {
  totals t;
  t.total_users = rs.at(0, "total_users").i;
  t.disabled_users = rs.at(0, "disabled_users").i;
  t.active_sessions = rs.at(0, "active_sessions").i;
  t.logins_24h = rs.at(0, "logins_24h").i;
  t.emails_queued = rs.at(0, "emails_queued").i;
  t.emails_failed = rs.at(0, "emails_failed").i;
  t.passkeys = rs.at(0, "passkeys").i;
  t.totp_users = rs.at(0, "totp_users").i;
  t.webhooks_pending = rs.at(0, "webhooks_pending").i;
  return t;
}

} // namespace authsvc::db::stats_store
