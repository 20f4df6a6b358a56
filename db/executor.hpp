#pragma once
// What the DB actor needs from a database connection, whichever engine is
// behind it: SQLite (embedded default, db/sqlite_executor) or PostgreSQL
// (database.url, db/pg_executor).
//
// Why an interface and not a std::variant in db_actor: the actor calls the
// executor at nine places (open, migrate, query, run, begin/commit/rollback,
// busy timeout) and every store test builds one; a virtual call per statement
// costs nothing next to the statement itself, while a variant would put a
// std::visit at each of those places and make every test pick a type. The
// stores do not change at all: they keep producing db::statement values.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db {

/// The engine behind an executor.
enum class backend { sqlite, postgres };

/// How a failure of the database is to be treated. `sqlite_code` means "ask
/// the SQLite result code" (the historical constructor).
enum class failure {
  sqlite_code, ///< classify by the SQLite code (busy, full, io)
  other,       ///< a mistake in our own SQL or an unexpected state
  busy,        ///< locked by someone else (SQLite) / lock timeout
  full,        ///< disk full (PostgreSQL 53100)
  io,          ///< I/O error under the database (PostgreSQL 58030)
  constraint,  ///< a constraint refused the write (PostgreSQL class 23)
  /// Worth retrying after a short wait: connection lost (class 08, or the
  /// connection went bad), serialization failure (40001), deadlock (40P01),
  /// the server shutting down or starting (57P01, 57P02, 57P03).
  transient,
};

/// A failure of the database itself (I/O, corruption, busy beyond the
/// timeout, SQL errors in our own statements). Client mistakes never raise it.
class db_error : public std::runtime_error {
public:
  /// A SQLite failure: `code` is the (extended) SQLite result code.
  db_error(int code, const std::string& what)
      : std::runtime_error(what), code_(code) {}
  /// A failure classified by its executor; `sqlstate` is PostgreSQL's
  /// five-character code (empty when there is none, e.g. connection lost).
  db_error(failure kind, std::string sqlstate, const std::string& what)
      : std::runtime_error(what), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  int code() const noexcept { return code_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  /// True when the database was locked by someone else (worth retrying).
  bool busy() const noexcept;
  /// True when the disk (or the file system quota) is full.
  bool full() const noexcept;
  /// True for an I/O failure of the file system under the database.
  bool io() const noexcept;
  /// True for a constraint violation.
  bool constraint() const noexcept;
  /// True when the same work may well succeed if tried again shortly
  /// (connection lost, serialization failure, deadlock, server restart).
  bool transient() const noexcept { return kind_ == failure::transient; }

private:
  int code_ = 0;
  failure kind_ = failure::sqlite_code;
  std::string sqlstate_;
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

/// The embedded migrations of this build for one engine: migrations/*.sql
/// for SQLite, migrations/postgres/*.sql for PostgreSQL.
std::vector<migration> embedded_migrations(backend b = backend::sqlite);

/// One connection to the database, used from one thread at a time.
class executor {
public:
  virtual ~executor() = default;

  virtual backend kind() const = 0;

  // -- schema -----------------------------------------------------------------

  /// Applies every migration not yet recorded in schema_migrations, each in
  /// its own transaction, so that several processes starting together apply
  /// each one once. @returns the versions applied now.
  virtual std::vector<int> migrate(const std::vector<migration>& all) = 0;

  /// Highest applied migration version (0 when none).
  virtual int schema_version() = 0;

  // -- statements -------------------------------------------------------------

  /// Runs one statement outside any unit and returns its rows.
  virtual rowset query(const statement& s) = 0;

  /// Runs a unit: all statements or none take effect. Inside begin()/commit()
  /// the caller decides when the surrounding transaction commits; outside it
  /// the unit commits on its own.
  virtual unit_result run(const unit& u) = 0;

  /// Transaction control for group commit.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual bool in_transaction() const = 0;

  /// Executes SQL without results or parameters (settings, scripts).
  virtual void exec(const std::string& sql) = 0;

  /// How long a statement waits for a lock another connection holds.
  virtual void set_busy_timeout(int ms) = 0;
};

} // namespace authsvc::db
