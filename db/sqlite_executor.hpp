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

#include "db/value.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace authsvc::db {

/// A failure of the database itself (I/O, corruption, busy beyond the
/// timeout, SQL errors in our own statements). Client mistakes never raise it.
class db_error : public std::runtime_error {
public:
  db_error(int code, const std::string& what)
      : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }
  /// True when the database was locked by someone else (worth retrying).
  bool busy() const noexcept;
  /// True when the disk (or the file system quota) is full.
  bool full() const noexcept;
  /// True for an I/O failure of the file system under the database.
  bool io() const noexcept;

private:
  int code_;
};

/// A migration file: `NNNN_name.sql`.
struct migration {
  int version;
  std::string name;
  std::string sql;
};

/// Parses embedded files into migrations sorted by version.
/// @throws std::runtime_error on a misnamed file or a duplicate number.
std::vector<migration>
parse_migrations(const std::vector<std::pair<std::string, std::string>>& files);

/// The embedded migrations of this build.
std::vector<migration> embedded_migrations();

class sqlite_executor {
public:
  // -- constructors -----------------------------------------------------------

  /// Opens (creating if needed, with its folder) the database file.
  /// @throws db_error when the file cannot be opened.
  sqlite_executor(const std::string& path, const std::string& synchronous,
                  int busy_timeout_ms);
  ~sqlite_executor();
  sqlite_executor(const sqlite_executor&) = delete;
  sqlite_executor& operator=(const sqlite_executor&) = delete;

  // -- schema -----------------------------------------------------------------

  /// Applies every migration not yet recorded in schema_migrations, each in
  /// its own transaction. @returns the versions applied now.
  /// @throws db_error; a busy database is reported with busy() == true.
  std::vector<int> migrate(const std::vector<migration>& all);

  /// Highest applied migration version (0 when none).
  int schema_version();

  // -- statements -------------------------------------------------------------

  /// Runs one statement outside any unit and returns its rows.
  rowset query(const statement& s);

  /// Runs a unit inside a savepoint: all statements or none take effect.
  /// The caller decides when the surrounding transaction commits.
  unit_result run(const unit& u);

  /// Transaction control for group commit.
  void begin();
  void commit();
  void rollback();
  bool in_transaction() const { return in_txn_; }

  /// Executes SQL without results (pragmas, scripts).
  void exec(const std::string& sql);

  /// How long a statement waits for a lock another connection holds.
  void set_busy_timeout(int ms);

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
