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
#include "db/sqlite_executor.hpp"

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
};

struct db_state {
  static inline const char* name = "authsvc.db";

  ~db_state();

  db_options opts;
  metrics_actor metrics;
  std::unique_ptr<db::sqlite_executor> exec;
  db::status status;
  /// Writers waiting for the open group to commit.
  std::vector<caf::typed_response_promise<db::unit_result>> pending;
  std::vector<db::unit_result> pending_results;
  bool commit_scheduled = false;
  std::int64_t group_started_ns = 0;
};

/// Spawn with caf::detached.
db_actor::behavior_type db_impl(db_actor::stateful_pointer<db_state> self,
                                db_options opts, metrics_actor metrics);

} // namespace authsvc
