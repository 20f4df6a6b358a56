#pragma once
// Owns one SQLite connection: opens it with the pragmas we rely on, applies
// the embedded migrations, caches prepared statements and runs statements and
// units. Plain class with no actors: the DB actor owns one and calls it from
// its own thread; tests use it directly against a real file.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/executor.hpp"
#include "db/value.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace authsvc::db {

class sqlite_executor final : public executor {
public:
  // -- constructors -----------------------------------------------------------

  /// Opens (creating if needed, with its folder) the database file.
  /// @throws db_error when the file cannot be opened.
  sqlite_executor(const std::string& path, const std::string& synchronous,
                  int busy_timeout_ms);
  ~sqlite_executor() override;
  sqlite_executor(const sqlite_executor&) = delete;
  sqlite_executor& operator=(const sqlite_executor&) = delete;

  // -- schema -----------------------------------------------------------------

  /// Applies every migration not yet recorded in schema_migrations, each in
  /// its own transaction. @returns the versions applied now.
  /// @throws db_error; a busy database is reported with busy() == true.
  std::vector<int> migrate(const std::vector<migration>& all) override;

  /// Highest applied migration version (0 when none).
  int schema_version() override;

  // -- statements -------------------------------------------------------------

  /// Runs one statement outside any unit and returns its rows.
  rowset query(const statement& s) override;

  /// Runs a unit inside a savepoint: all statements or none take effect.
  /// The caller decides when the surrounding transaction commits.
  unit_result run(const unit& u) override;

  /// Transaction control for group commit.
  void begin() override;
  void commit() override;
  void rollback() override;
  bool in_transaction() const override { return in_txn_; }
  backend kind() const override { return backend::sqlite; }

  /// Executes SQL without results (pragmas, scripts).
  void exec(const std::string& sql) override;

  /// How long a statement waits for a lock another connection holds.
  void set_busy_timeout(int ms) override;

private:
  sqlite3_stmt* prepare(const std::string& sql);
  rowset step_all(sqlite3_stmt* st, const statement& s,
                  const std::vector<rowset>& earlier);
  [[noreturn]] void fail(int rc, const std::string& what);

  sqlite3* db_ = nullptr;
  bool in_txn_ = false;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

} // namespace authsvc::db
