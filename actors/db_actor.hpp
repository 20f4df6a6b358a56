#pragma once
// The DB actor: the only owner of the SQLite connection. Detached (its own
// thread), so blocking SQLite calls never stall scheduled actors. Writes are
// group-committed: every unit waiting in the mailbox joins one transaction,
// and each writer hears back only after that transaction committed.
#include <memory>
#include <string>
#include <vector>

#include "actors/type_ids.hpp"
#include "actors/metrics_actor.hpp"
#include "core/clock.hpp"
#include "db/executor.hpp"
#include "db/store_errc.hpp"

namespace authsvc {

using db_actor = caf::typed_actor<
    /// Runs one read statement.
    caf::replies_to<atom::query_atom, db::statement>::with<db::rowset>,
    /// Runs a unit atomically; answers after commit.
    caf::replies_to<atom::write_atom, db::unit>::with<db::unit_result>,
    /// Reports open/migrated/version (readiness and health).
    caf::replies_to<atom::status_atom>::with<db::status>,
    /// Internal: commits the open group.
    caf::reacts_to<atom::commit_atom>,
    /// Internal: (re)tries opening and migrating.
    caf::reacts_to<atom::migrate_atom>>;

struct db_options {
  std::string path;
  std::string synchronous = "normal";
  int busy_timeout_ms = 5000;
  /// Statement and commit durations (metrics) read this clock.
  clock_ptr clock = real_clock();
  /// After a write failed because the database could not take it (disk
  /// full, I/O error, locked by another process beyond busy_timeout_ms),
  /// writes are refused at once for this long, then one is tried again
  /// (waiting at most `probe_busy_timeout_ms` for a lock), so callers get a
  /// quick 503 instead of queueing behind a database that cannot write.
  int write_retry_ms = 250;
  int probe_busy_timeout_ms = 50;
  /// When set (database.url), the store is this PostgreSQL database and
  /// `path`, `synchronous` are unused. Last, so positional initialisers of
  /// the fields above stay valid.
  std::string pg_url;
};

struct db_state {
  static inline const char* name = "authsvc.db";

  ~db_state();

  db_options opts;
  metrics_actor metrics;
  std::unique_ptr<db::executor> exec;
  db::status status;
  /// Writers waiting for the open group to commit.
  std::vector<caf::typed_response_promise<db::unit_result>> pending;
  std::vector<db::unit_result> pending_results;
  bool commit_scheduled = false;
  std::int64_t group_started_ns = 0;
  // -- refused writes (see db_options::write_retry_ms) --
  /// Why writes are refused ("disk_full", "locked", "io_error", or
  /// "unreachable", which refuses reads too); empty when the database takes
  /// writes.
  std::string refusing;
  /// Until when writes are refused without trying (steady clock, ns).
  std::int64_t refuse_until_ns = 0;
  /// Writes refused since the database stopped taking them.
  std::uint64_t refused = 0;
  /// When this refusal episode began (unix seconds; /health).
  std::int64_t refusing_since = 0;
};

/// Spawn with caf::detached.
db_actor::behavior_type db_impl(db_actor::stateful_pointer<db_state> self,
                                db_options opts, metrics_actor metrics);

} // namespace authsvc

// The DB actor answers a database that cannot take writes (or reads) with
// db::store_errc::unavailable, which the front turns into 503.
CAF_ERROR_CODE_ENUM(authsvc::db::store_errc, "store")
