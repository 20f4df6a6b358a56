#include "db/export_store.hpp"

#include "db/store_errc.hpp"

namespace authsvc::db::export_store {

namespace {

/// A 0/1 flag column as JSON (`true`/`false`), for a json_columns entry.
/// Compared with 0 rather than used as the condition itself: PostgreSQL
/// wants a boolean there, and the flags are BIGINT on it.
std::string json_bool(const std::string& column) {
  return "CASE WHEN " + column + " <> 0 THEN 'true' ELSE 'false' END AS "
         + column;
}

std::vector<section> make_sections() {
  using s = section;
  return {
      // The account: profile and both metadata documents.
      s{"profile",
        "users",
        shape::one,
        "SELECT id, email, display_name, locale, " + json_bool("disabled")
            + ", created_at, updated_at, user_metadata, app_metadata "
              "FROM users WHERE id = ?1",
        {"disabled", "user_metadata", "app_metadata"},
        {}},
      // Signed-in devices, revoked and expired ones too (no token hashes:
      // refresh tokens and exchange codes are secrets only).
      s{"sessions",
        "sessions",
        shape::list,
        "SELECT id, created_at, last_seen_at, expires_at, "
        "absolute_expires_at, auth_time, revoked_at, revoked_reason, ip, "
        "user_agent, amr FROM sessions WHERE user_id = ?1 "
        "ORDER BY created_at, id",
        {"amr"},
        {}},
      // Passkeys without their public keys.
      s{"passkeys",
        "webauthn_credentials",
        shape::list,
        "SELECT id, name, aaguid, fmt AS attestation_format, alg AS "
        "algorithm, transports, "
            + json_bool("backup_eligible") + ", " + json_bool("backed_up")
            + ", " + json_bool("user_verified")
            + ", sign_count, created_at, last_used_at "
              "FROM webauthn_credentials WHERE user_id = ?1 "
              "ORDER BY created_at, id",
        {"transports", "backup_eligible", "backed_up", "user_verified"},
        {}},
      // Passkey ceremonies still open (registration challenges), without
      // the challenge itself.
      s{"passkey_ceremonies",
        "webauthn_challenges",
        shape::list,
        "SELECT id, purpose, created_at, expires_at FROM webauthn_challenges "
        "WHERE user_id = ?1 ORDER BY created_at, id",
        {},
        {}},
      // TOTP: when it was enrolled and enabled (confirmed), never the
      // secret; null when the account has none.
      s{"totp",
        "totp",
        shape::one,
        "SELECT created_at, confirmed_at AS enabled_at FROM totp "
        "WHERE user_id = ?1",
        {},
        {}},
      // Recovery codes: counts only; null when none were ever issued.
      s{"recovery_codes",
        "recovery_codes",
        shape::one,
        "SELECT SUM(CASE WHEN used_at IS NULL THEN 1 ELSE 0 END) AS "
        "remaining, SUM(CASE WHEN used_at IS NULL THEN 0 ELSE 1 END) AS used, "
        "MAX(created_at) AS issued_at FROM recovery_codes "
        "WHERE user_id = ?1 HAVING COUNT(*) > 0",
        {},
        {}},
      // Email sign-ins started for the account or its address, without
      // link, code or flow secret hashes.
      s{"email_sign_ins",
        "email_flows",
        shape::list,
        "SELECT id, status, created_at, expires_at, consumed_at, ip, "
        "user_agent, locale, redirect_to FROM email_flows "
        "WHERE user_id = ?1 OR email = (SELECT email FROM users WHERE id = "
        "?1) ORDER BY created_at, id",
        {},
        {}},
      // Failed sign-in counters and lockouts per method. The counters'
      // source (the address the failures came from) is left out: it is
      // usually someone else's.
      s{"lockouts",
        "failed_attempts",
        shape::list,
        "SELECT method, failures, lockouts, locked_until, updated_at "
        "FROM failed_attempts WHERE user_id = ?1 ORDER BY method, updated_at",
        {},
        {}},
      // Mail sent (or queued) to the address: when, which kind, which
      // language; never the body, links or codes (vars_enc).
      s{"mail",
        "mail_jobs",
        shape::list,
        "SELECT id, message_id, template AS kind, locale, status, attempts, "
        "created_at, sent_at FROM mail_jobs WHERE to_email = (SELECT email "
        "FROM users WHERE id = ?1) ORDER BY created_at, id",
        {},
        {}},
      // Address changes asked for, with both addresses and their state;
      // never the link, code or cancel-link hashes.
      s{"email_changes",
        "email_changes",
        shape::list,
        "SELECT id, old_email, new_email, status, code_attempts, ip, "
        "user_agent, created_at, expires_at, cancel_until, confirmed_at, "
        "cancelled_at FROM email_changes WHERE user_id = ?1 "
        "ORDER BY created_at, id",
        {},
        {}},
      // OpenID Provider (issue 16): what the user allowed which client, and
      // the authorization codes issued for the account (never the code
      // hash, nonce or PKCE challenge).
      s{"oauth_consents",
        "oauth_consents",
        shape::list,
        "SELECT c.client_id, (SELECT name FROM oauth_clients WHERE id = "
        "c.client_id) AS client_name, c.scope, c.created_at, c.updated_at "
        "FROM oauth_consents c WHERE c.user_id = ?1 "
        "ORDER BY c.created_at, c.client_id",
        {},
        {}},
      s{"oauth_authorizations",
        "oauth_codes",
        shape::list,
        "SELECT client_id, redirect_uri, scope, auth_time, created_at, "
        "expires_at, used_at FROM oauth_codes WHERE user_id = ?1 "
        "ORDER BY created_at",
        {},
        {}},
      // The audit trail about the account.
      s{"audit_events",
        "audit_logs",
        shape::list,
        "SELECT id, event_type AS type, created_at, email, ip, user_agent, "
        "request_id, actor, "
            + json_bool("success")
            + ", metadata FROM audit_logs WHERE user_id = ?1 ORDER BY id",
        {"success", "metadata"},
        {}},
      // Webhook deliveries whose event named the account, with what they
      // carried; the endpoint by id only (operators' URLs may hold
      // credentials).
      s{"webhook_deliveries",
        "webhook_deliveries",
        shape::list,
        "SELECT id, endpoint_id, event_type, status, attempts, created_at, "
        "delivered_at, payload FROM webhook_deliveries WHERE CASE WHEN "
        "json_valid(payload) THEN json_extract(payload, '$.data.user_id') "
        "END = ?1 ORDER BY created_at, id",
        {"payload"},
        // JSON paths are spelled differently; pa_try_jsonb (migration 0012)
        // is NULL for a payload that is not JSON, as json_valid guards.
        "SELECT id, endpoint_id, event_type, status, attempts, created_at, "
        "delivered_at, payload FROM webhook_deliveries WHERE "
        "pa_try_jsonb(payload) #>> '{data,user_id}' = ?1 "
        "ORDER BY created_at, id"},
  };
}

} // namespace

const std::vector<section>& sections() {
  static const auto all = make_sections();
  return all;
}

unit read(const std::string& user_id, const std::string& not_found_code) {
  unit u;
  for (const auto& s : sections()) {
    auto st = stmt(s.sql, {value::text(user_id)});
    st.postgres_sql = s.postgres_sql;
    u.statements.push_back(std::move(st));
  }
  // The account must be there: the first section reads it.
  u.statements.front().min_rows = 1;
  u.statements.front().fail_code = not_found_code;
  return u;
}

result<std::vector<part>> decode(const unit_result& r) {
  const auto& all = sections();
  if (!r.ok || r.results.size() != all.size())
    return store_errc::not_found;
  std::vector<part> out;
  out.reserve(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& s = all[i];
    const auto& rs = r.results[i];
    part p{s.name, s.form, {}};
    for (const auto& row : rs.rows) {
      std::vector<field> fields;
      for (std::size_t c = 0; c < rs.columns.size() && c < row.size(); ++c) {
        const auto& name = rs.columns[c];
        bool json = false;
        for (const auto& j : s.json_columns)
          json = json || j == name;
        fields.push_back({name, row[c], json});
      }
      p.rows.push_back(std::move(fields));
    }
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace authsvc::db::export_store
