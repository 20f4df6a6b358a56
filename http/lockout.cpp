#include "http/lockout.hpp"

#include "db/lockout_store.hpp"

#include <algorithm>

#include "http/rate_limit.hpp"
#include "http/route_helpers.hpp"

namespace authsvc::lockout {

using db::value;

auth::lockout_policy policy_from(const config::settings& cfg) {
  auth::lockout_policy p;
  p.threshold = static_cast<std::uint32_t>(cfg.auth.lockout_threshold);
  p.base_seconds = cfg.auth.lockout_duration;
  p.cap_seconds = std::max<std::int64_t>(p.cap_seconds, p.base_seconds);
  return p;
}

std::string locked_until_sql(const std::string& user_id_sql,
                             const std::string& m,
                             const std::string& source_sql) {
  return db::lockout_store::locked_until(user_id_sql, m, source_sql);
}

std::size_t append_failure(db::unit& u, const value& user_id,
                           const std::string& method, const std::string& source,
                           std::int64_t now,
                           const auth::lockout_policy& policy) {
  // Lock n lasts lock_duration(n): spelled out as a CASE so the whole
  // decision happens inside the unit.
  std::string durations = "CASE lockouts";
  for (std::uint32_t i = 0; i < 32; ++i) {
    auto d = auth::lock_duration(i, policy);
    durations += " WHEN " + std::to_string(i) + " THEN " + std::to_string(d);
    if (d >= policy.cap_seconds)
      break;
  }
  durations += " ELSE " + std::to_string(policy.cap_seconds) + " END";
  u.statements.push_back(db::stmt(
      "INSERT INTO failed_attempts(user_id, method, source, failures, "
      "lockouts, locked_until, updated_at) VALUES (?1, ?2, ?5, 1, 0, 0, ?3) "
      "ON CONFLICT(user_id, method, source) DO UPDATE SET "
      "failures = failures + 1, "
      // A whole quiet cap since the last lock forgives earlier locks.
      "lockouts = CASE WHEN locked_until > 0 AND ?3 - locked_until >= ?4 "
      "THEN 0 ELSE lockouts END, updated_at = ?3 "
      "WHERE locked_until <= ?3",
      {user_id, value::text(method), value::integer(now),
       value::integer(policy.cap_seconds), value::text(source)}));
  u.statements.push_back(db::stmt(
      "UPDATE failed_attempts SET failures = 0, lockouts = lockouts + 1, "
      "locked_until = ?3 + "
          + durations
          + ", updated_at = ?3 "
            "WHERE user_id = ?1 AND method = ?2 AND source = ?5 "
            "AND failures >= ?4 "
            "AND locked_until <= ?3 RETURNING lockouts, locked_until",
      {user_id, value::text(method), value::integer(now),
       value::integer(policy.threshold), value::text(source)}));
  return u.statements.size() - 1;
}

db::statement reset(const value& user_id, const std::string& method,
                    const std::string& source) {
  return db::lockout_store::reset(user_id, method, source);
}

db::statement reset_all_sources(const value& user_id,
                                const std::string& method) {
  return db::lockout_store::reset_all_sources(user_id, method);
}

db::unit unlock_unit(const std::string& user_id) {
  db::unit u;
  u.statements.push_back(db::stmt(
      "DELETE FROM failed_attempts WHERE user_id = ?", {value::text(user_id)}));
  return u;
}

} // namespace authsvc::lockout

namespace authsvc::http_routes {

std::string lockout_source(const context_ptr& ctx) {
  return client_rate_key(ctx);
}

namespace {

/// Counts one failure of (`user_id`, `method`) from this request's source;
/// `on_lock(row)` runs when it was the locking one. Then `then`, always.
template <class OnLock>
void count_failure(const context_ptr& ctx, const std::string& user_id,
                   const std::string& method, OnLock on_lock,
                   std::function<void()> then) {
  db::unit u;
  auto lock_index = lockout::append_failure(u, db::value::text(user_id), method,
                                            lockout_source(ctx), unix_now(),
                                            lockout::policy_from(ctx->cfg()));
  ctx->self
      ->request(ctx->svc().db, http_routes::db_timeout, atom::write_atom_v,
                std::move(u))
      .then(
          [ctx, then, lock_index, on_lock](db::unit_result& r) {
            if (r.ok && lock_index < r.results.size()
                && !r.results[lock_index].empty())
              on_lock(r.results[lock_index]);
            else if (!r.ok)
              ctx->log_fields["lockout_record"] = r.fail_code;
            guarded(ctx, then);
          },
          [ctx, then](caf::error& e) {
            ctx->log_fields["lockout_record"] = caf::to_string(e);
            guarded(ctx, then);
          });
}

} // namespace

void record_failure(const context_ptr& ctx, const std::string& user_id,
                    const std::string& email, const std::string& method,
                    std::function<void()> then) {
  if (user_id.empty())
    return guarded(ctx, then);
  auto source = lockout_source(ctx);
  count_failure(
      ctx, user_id, method,
      [ctx, user_id, email, method, source](const db::rowset& row) {
        ctx->audit("account.locked", false, user_id, email,
                   {{"method", method},
                    {"source", source},
                    {"lockouts", row.at(0, "lockouts").i},
                    {"locked_until", row.at(0, "locked_until").i}});
        caf::anon_send(ctx->svc().metrics,
                       metrics::inc("account_lockouts_total", {method}));
      },
      std::move(then));
}

void record_source_failure(const context_ptr& ctx, const std::string& method,
                           std::function<void()> then) {
  auto source = lockout_source(ctx);
  count_failure(
      ctx, std::string{}, method,
      [ctx, method, source](const db::rowset& row) {
        ctx->audit("source.locked", false, {}, {},
                   {{"method", method},
                    {"source", source},
                    {"lockouts", row.at(0, "lockouts").i},
                    {"locked_until", row.at(0, "locked_until").i}});
        caf::anon_send(ctx->svc().metrics,
                       metrics::inc("source_lockouts_total", {method}));
      },
      std::move(then));
}

} // namespace authsvc::http_routes
