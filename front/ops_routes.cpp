#include "front/ops_routes.hpp"

#include "actors/safe_request.hpp"
#include "auth/crypto.hpp"
#include "core/version.hpp"
#include "db/health_store.hpp"

namespace authsvc::http_routes {

namespace {

constexpr auto check_timeout = std::chrono::seconds(2);

/// Asks the DB actor whether it is migrated and answers a trivial query;
/// calls `done(ok, detail, status)` exactly once (`status` says whether
/// writes are refused; empty when the DB actor did not answer).
template <class F>
void check_database(const context_ptr& ctx, F done) {
  safe_request(ctx->self, ctx->svc().db, check_timeout, atom::status_atom_v)
      .then(
          [ctx, done](db::status& st) mutable {
            if (!st.migrated)
              return done(false,
                          st.last_error.empty() ? "migrating" : st.last_error,
                          st);
            safe_request(ctx->self, ctx->svc().db, check_timeout,
                         atom::query_atom_v, db::health_store::ping())
                .then([done, st](db::rowset&) mutable { done(true, "ok", st); },
                      [done, st](caf::error& e) mutable {
                        done(false, caf::to_string(e), st);
                      });
          },
          [done](caf::error& e) mutable {
            done(false, caf::to_string(e), db::status{});
          });
}

/// The refused-writes episode of the database, for /health: whether writes
/// are taken, and while they are not, why, since when and how many were
/// answered 503 (docs/operations.md, "Disk full or locked database").
nlohmann::json database_writes(const db::status& st) {
  if (st.refusing_writes.empty())
    return {{"writes", "ok"}};
  return {{"writes", "refused"},
          {"reason", st.refusing_writes},
          {"refusing_since", st.refusing_since},
          {"writes_refused", st.writes_refused}};
}

/// Asks the supervisor for its table of top-level actors; calls `done` with
/// it, or with an empty table when there is no supervisor (tests) and with
/// one "supervisor: failing" entry when it does not answer.
template <class F>
void check_supervision(const context_ptr& ctx, F done) {
  if (!ctx->svc().supervisor)
    return done(supervision_report{});
  safe_request(ctx->self, ctx->svc().supervisor, check_timeout,
               atom::status_atom_v)
      .then([done](supervision_report& r) mutable { done(std::move(r)); },
            [done](caf::error& e) mutable {
              supervision_report r;
              r.children.push_back(
                  {"supervisor", "failing", 0, caf::to_string(e)});
              done(std::move(r));
            });
}

/// Adds one `checks` entry per top-level actor (its supervisor state) and
/// their restart counts under `supervision`; false when one is not "ok".
bool add_supervision(nlohmann::json& body, const supervision_report& r) {
  bool ok = true;
  auto& checks = body["checks"];
  auto& sup = body["supervision"];
  sup = nlohmann::json::object();
  for (const auto& c : r.children) {
    // The owner's own check (e.g. "sessions": "loading") stays unless the
    // supervisor knows worse.
    if (c.state != "ok" || !checks.contains(c.name))
      checks[c.name] = c.state;
    ok = ok && c.state == "ok";
    sup[c.name] = {{"restarts", c.restarts}, {"last_exit", c.last_exit}};
  }
  return ok;
}

} // namespace

/// A queue whose oldest due job waited this long is stuck, not just busy.
constexpr std::int64_t mail_backlog_seconds = 900;

void health(const context_ptr& ctx) {
  check_database(ctx, [ctx](bool db_ok, const std::string& detail,
                            const db::status& dbs) {
    if (!db_ok)
      ctx->log_fields["database"] = detail;
    // A database that refuses writes (disk full, I/O error, locked by
    // another process) still answers reads: "refusing_writes", degraded.
    const char* db_check = !db_ok                         ? "failing"
                           : !dbs.refusing_writes.empty() ? "refusing_writes"
                                                          : "ok";
    db_ok = db_ok && dbs.refusing_writes.empty();
    auto db_body = database_writes(dbs);
    safe_request(ctx->self, ctx->svc().sessions, check_timeout,
                 atom::ready_atom_v)
        .then(
            [ctx, db_ok, db_check, db_body](bool sessions_ok) {
              safe_request(ctx->self, ctx->svc().mailer, check_timeout,
                           atom::status_atom_v)
                  .then(
                      [ctx, db_ok, db_check, db_body,
                       sessions_ok](mailer_status& m) {
                        // A send past its deadline is a worker the
                        // transport's timeouts did not free: degraded, while
                        // the other workers keep the queue moving.
                        const char* mail_check
                            = m.stuck > 0 ? "stuck"
                              : m.oldest_due_age >= mail_backlog_seconds
                                  ? "backlog"
                                  : "ok";
                        bool mail_ok = std::string_view(mail_check) == "ok";
                        bool ok = db_ok && sessions_ok && mail_ok;
                        nlohmann::json body
                            = {{"version", authsvc::version},
                               {"uptime_seconds", uptime_seconds()},
                               {"checks",
                                {{"database", db_check},
                                 {"sessions", sessions_ok ? "ok" : "loading"},
                                 {"mailer", mail_check}}},
                               {"database", db_body},
                               {"mailer",
                                {{"transport", m.transport},
                                 {"last_success", m.last_success},
                                 {"last_failure", m.last_failure},
                                 {"queue_depth", m.queue_depth},
                                 {"oldest_due_age_seconds", m.oldest_due_age},
                                 {"workers", m.workers},
                                 {"sending", m.sending},
                                 {"stuck_sends", m.stuck},
                                 {"consecutive_failures",
                                  m.consecutive_failures}}}};
                        check_supervision(
                            ctx, [ctx, ok, body = std::move(body)](
                                     const supervision_report& r) mutable {
                              ok = add_supervision(body, r) && ok;
                              body["status"] = ok ? "ok" : "degraded";
                              ctx->reply_json(ok ? 200 : 503, body);
                            });
                      },
                      [ctx](caf::error& e) { ctx->reply_failure(e); });
            },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
  });
}

void liveness(const context_ptr& ctx) {
  ctx->reply_json(200, {{"status", "alive"}});
}

void readiness(const context_ptr& ctx) {
  // Not the mailer: a relay outage must not take the service out of a load
  // balancer, since mail is queued durably and retried.
  // Nor writes refused by the database (disk full, locked): the node keeps
  // serving token checks, sessions and JWKS and answers each write 503 +
  // Retry-After at once, and with SQLite it is usually the only node, so
  // taking it out of rotation would turn a write outage into a full one. It
  // stays ready and says so (docs/operations.md, "Disk full or locked
  // database"); /health is degraded.
  check_database(
      ctx, [ctx](bool ok, const std::string& detail, const db::status& dbs) {
        if (!ok) {
          ctx->log_fields["database"] = detail;
          return ctx->reply_json(503, {{"status", "not_ready"},
                                       {"checks", {{"database", detail}}}});
        }
        auto refusing = dbs.refusing_writes;
        safe_request(ctx->self, ctx->svc().sessions, check_timeout,
                     atom::ready_atom_v)
            .then(
                [ctx, refusing](bool ready) {
                  if (ready && !refusing.empty())
                    return ctx->reply_json(
                        200, {{"status", "ready"},
                              {"checks",
                               {{"database_writes", "refused: " + refusing}}}});
                  if (ready)
                    return ctx->reply_json(200, {{"status", "ready"}});
                  ctx->reply_json(503, {{"status", "not_ready"},
                                        {"checks", {{"sessions", "loading"}}}});
                },
                [ctx](caf::error& e) { ctx->reply_failure(e); });
      });
}

void metrics(const context_ptr& ctx) {
  const auto& token = ctx->cfg().metrics.token;
  if (!token.empty()) {
    auto auth = std::string(ctx->req.header("Authorization"));
    auto expected = "Bearer " + token;
    if (!auth::constant_time_equal(std::string_view(auth),
                                   std::string_view(expected)))
      return ctx->reply_error("unauthorized");
  }
  safe_request(ctx->self, ctx->svc().metrics, check_timeout,
               atom::render_atom_v)
      .then(
          [ctx](std::string& text) {
            http::response r;
            r.status = 200;
            r.set_header("Content-Type",
                         "text/plain; version=0.0.4; charset=utf-8");
            r.set_header("Cache-Control", "no-store");
            r.body = std::move(text);
            ctx->reply(std::move(r));
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace authsvc::http_routes
