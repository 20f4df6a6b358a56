#include "actors/db_actor.hpp"

#include <chrono>

#include "core/log.hpp"
#include "db/pg_executor.hpp"
#include "db/sqlite_executor.hpp"

namespace authsvc {

namespace {

using self_ptr = db_actor::stateful_pointer<db_state>;

std::int64_t now_ns(self_ptr self) {
  return self->state.opts.clock->steady_ns();
}

double seconds_since(self_ptr self, std::int64_t start_ns) {
  return static_cast<double>(now_ns(self) - start_ns) / 1e9;
}

/// Where the data lives, for logs: the file, or only the engine for
/// PostgreSQL (its URL may hold a password).
std::string where(const db_options& o) {
  return o.pg_url.empty() ? o.path : std::string("postgresql");
}

caf::error internal(const std::string& what) {
  return caf::make_error(caf::sec::runtime_error, what);
}

// -- refused writes (disk full, I/O error, locked) ----------------------------

caf::error unavailable() {
  return caf::make_error(db::store_errc::unavailable);
}

constexpr const char* unreachable_reason = "unreachable";

/// Why a failure means the database cannot take the work now (as opposed
/// to a mistake in a statement); empty when it does not.
const char* refusal_reason(const db::db_error& e) {
  if (e.full())
    return "disk_full";
  if (e.busy())
    return "locked";
  if (e.io())
    return "io_error";
  // PostgreSQL: connection lost, server restarting, serialization failure
  // or deadlock that outlived the executor's own retries. Refusing for
  // write_retry_ms is the backoff; the next try reconnects.
  if (e.transient())
    return unreachable_reason;
  return "";
}

/// Starts (or extends) refusing writes after `e`; logs once per episode.
/// An unreachable database refuses reads too (refusing_read_now).
void refuse_writes(self_ptr self, const char* reason, const db::db_error& e) {
  auto& st = self->state;
  if (st.refusing.empty()) {
    log::error("db", "database-refusing-writes",
               {{"reason", reason},
                {"error", e.what()},
                {"path", where(st.opts)},
                {"retry_in_ms", st.opts.write_retry_ms}});
    // Further tries wait only briefly for a lock: a database locked by
    // someone else must not hold up reads queued behind each try.
    if (st.exec)
      st.exec->set_busy_timeout(st.opts.probe_busy_timeout_ms);
    st.refusing_since = st.opts.clock->unix_seconds();
  }
  st.refusing = reason;
  st.refuse_until_ns
      = now_ns(self) + std::int64_t{st.opts.write_retry_ms} * 1'000'000;
}

/// A write went through after refusals (or, for an unreachable database, a
/// read did): back to normal.
void writes_recovered(self_ptr self) {
  auto& st = self->state;
  if (st.refusing.empty())
    return;
  log::info("db", "database-writes-recovered",
            {{"reason", st.refusing}, {"refused", st.refused}});
  st.refusing.clear();
  st.refused = 0;
  st.refusing_since = 0;
  if (st.exec)
    st.exec->set_busy_timeout(st.opts.busy_timeout_ms);
}

/// True (and counts it) when a write is to be refused without trying.
bool refusing_now(self_ptr self) {
  auto& st = self->state;
  if (st.refusing.empty() || now_ns(self) >= st.refuse_until_ns)
    return false;
  ++st.refused;
  caf::anon_send(st.metrics,
                 metrics::inc("db_writes_refused_total", {st.refusing}));
  return true;
}

/// True (and counts it) when a read is to be refused without trying: only
/// while the database is unreachable (PostgreSQL down or failing over).
/// Each try of an unreachable server costs the executor's reconnects and
/// their backoff (~0.4 s) on the one DB actor, so a burst of reads tried one
/// by one would queue for seconds and end in timeouts; refused, each gets
/// its 503 at once and one read per write_retry_ms probes the server. A full
/// disk or a lock held elsewhere leaves reads working, so they go on.
bool refusing_read_now(self_ptr self) {
  auto& st = self->state;
  if (st.refusing != unreachable_reason || now_ns(self) >= st.refuse_until_ns)
    return false;
  caf::anon_send(st.metrics,
                 metrics::inc("db_reads_refused_total", {st.refusing}));
  return true;
}

/// The database cannot take the open group: roll it back and tell every
/// writer in it (none of their units committed).
void abort_group(self_ptr self) {
  auto& st = self->state;
  if (st.exec)
    st.exec->rollback();
  for (auto& rp : st.pending)
    rp.deliver(unavailable());
  st.pending.clear();
  st.pending_results.clear();
}

/// Opens the file and applies migrations; on a busy database (another
/// process holds the write lock) it tries again shortly, staying unready
/// in the meantime.
void open_and_migrate(db_actor::stateful_pointer<db_state> self) {
  auto& st = self->state;
  try {
    if (!st.exec) {
      if (st.opts.pg_url.empty()) {
        st.exec = std::make_unique<db::sqlite_executor>(
            st.opts.path, st.opts.synchronous, st.opts.busy_timeout_ms);
      } else {
        db::pg_options po;
        po.url = st.opts.pg_url;
        st.exec = std::make_unique<db::pg_executor>(std::move(po));
        st.exec->set_busy_timeout(st.opts.busy_timeout_ms);
      }
      st.status.open = true;
    }
    auto applied = st.exec->migrate(db::embedded_migrations(st.exec->kind()));
    st.status.schema_version = st.exec->schema_version();
    st.status.migrated = true;
    st.status.last_error.clear();
    log::info("db", "migrations-applied",
              {{"applied", applied},
               {"schema_version", st.status.schema_version},
               {"path", where(st.opts)}});
  } catch (const db::db_error& e) {
    st.status.last_error = e.what();
    log::warn("db", e.busy() ? "database-busy" : "migration-failed",
              {{"error", e.what()}, {"retry_in_ms", 200}});
    self->delayed_send(self, std::chrono::milliseconds(200),
                       atom::migrate_atom_v);
  } catch (const std::exception& e) {
    st.status.last_error = e.what();
    log::error("db", "migration-failed", {{"error", e.what()}});
    self->delayed_send(self, std::chrono::seconds(1), atom::migrate_atom_v);
  }
}

void commit_group(db_actor::stateful_pointer<db_state> self) {
  auto& st = self->state;
  st.commit_scheduled = false;
  if (!st.exec || !st.exec->in_transaction())
    return;
  auto start = now_ns(self);
  try {
    st.exec->commit();
  } catch (const db::db_error& e) {
    log::error("db", "commit-failed",
               {{"error", e.what()}, {"units", st.pending.size()}});
    if (auto why = refusal_reason(e); *why != '\0') {
      refuse_writes(self, why, e);
      return abort_group(self);
    }
    st.exec->rollback();
    for (auto& rp : st.pending)
      rp.deliver(internal(e.what()));
    st.pending.clear();
    st.pending_results.clear();
    return;
  }
  writes_recovered(self);
  caf::anon_send(st.metrics,
                 metrics::observe("db_query_duration_seconds",
                                  seconds_since(self, start), {"commit"}));
  for (std::size_t i = 0; i < st.pending.size(); ++i)
    st.pending[i].deliver(std::move(st.pending_results[i]));
  st.pending.clear();
  st.pending_results.clear();
}

} // namespace

db_state::~db_state() {
  // An exit between a write and its commit message must not lose the group:
  // its writers were not answered yet, but the work is valid.
  if (exec && exec->in_transaction()) {
    try {
      exec->commit();
    } catch (const std::exception& e) {
      log::error("db", "final-commit-failed", {{"error", e.what()}});
    }
  }
}

db_actor::behavior_type db_impl(db_actor::stateful_pointer<db_state> self,
                                db_options opts, metrics_actor metrics) {
  self->state.opts = std::move(opts);
  self->state.metrics = std::move(metrics);
  self->send(self, atom::migrate_atom_v);
  return {
      [=](atom::query_atom, const db::statement& s) -> caf::result<db::rowset> {
        auto& st = self->state;
        if (!st.status.migrated)
          return internal("database not ready");
        if (refusing_read_now(self))
          return unavailable();
        auto start = now_ns(self);
        try {
          auto rs = st.exec->query(s);
          caf::anon_send(st.metrics, metrics::observe(
                                         "db_query_duration_seconds",
                                         seconds_since(self, start), {"read"}));
          if (st.refusing == unreachable_reason)
            writes_recovered(self);
          return rs;
        } catch (const db::db_error& e) {
          log::error("db", "query-failed", {{"error", e.what()}});
          if (auto why = refusal_reason(e); *why != '\0') {
            // Lost connection: writes (and reads) wait out the backoff. A
            // full disk or a lock seen by a read says nothing new of writes.
            if (e.transient())
              refuse_writes(self, why, e);
            return unavailable();
          }
          return internal(e.what());
        }
      },
      [=](atom::write_atom, const db::unit& u) -> caf::result<db::unit_result> {
        auto& st = self->state;
        if (!st.status.migrated)
          return internal("database not ready");
        if (refusing_now(self))
          return unavailable();
        auto start = now_ns(self);
        try {
          if (!st.exec->in_transaction())
            st.exec->begin();
          auto res = st.exec->run(u);
          caf::anon_send(st.metrics,
                         metrics::observe("db_query_duration_seconds",
                                          seconds_since(self, start),
                                          {"write"}));
          auto rp = self->make_response_promise<db::unit_result>();
          st.pending.push_back(rp);
          st.pending_results.push_back(std::move(res));
          // The commit message queues behind every write already waiting, so
          // all of them join this group.
          if (!st.commit_scheduled) {
            st.commit_scheduled = true;
            self->send(self, atom::commit_atom_v);
          }
          return rp;
        } catch (const db::db_error& e) {
          log::error("db", "unit-failed", {{"error", e.what()}});
          if (auto why = refusal_reason(e); *why != '\0') {
            // SQLite may have rolled the whole transaction back already;
            // either way no unit of this group is committed.
            refuse_writes(self, why, e);
            abort_group(self);
            return unavailable();
          }
          return internal(e.what());
        }
      },
      [=](atom::status_atom) -> db::status {
        // With the refusal episode (if any), for /health and /readiness.
        auto& st = self->state;
        auto out = st.status;
        out.refusing_writes = st.refusing;
        out.refusing_since = st.refusing.empty() ? 0 : st.refusing_since;
        out.writes_refused = static_cast<std::int64_t>(st.refused);
        return out;
      },
      [=](atom::commit_atom) { commit_group(self); },
      [=](atom::migrate_atom) {
        if (!self->state.status.migrated)
          open_and_migrate(self);
      },
  };
}

} // namespace authsvc
