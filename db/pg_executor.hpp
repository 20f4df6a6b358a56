#pragma once
// Owns one PostgreSQL connection and offers the DB actor what the SQLite
// executor offers: statements and units over the same db::statement /
// db::unit / db::rowset types, one transaction per unit (or per group while
// the actor group-commits), prepared statements cached per connection, and
// failures classified the way the actor acts on them (db::failure).
//
// libpq directly, not libpqxx 6.4 (Debian 12's libpqxx-dev): the executor
// needs only connect, prepare, exec-prepared with typed parameters, result
// fields and SQLSTATE codes, all plain C calls that report failures as
// values; libpqxx would add a C++ exception hierarchy to translate back into
// db::failure, a transaction-object discipline that fights the actor's own
// group-commit transaction control, and a second runtime library to ship,
// for no feature we use.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/executor.hpp"

struct pg_conn;
struct pg_result;

namespace authsvc::db {

struct pg_options {
  /// A libpq connection URI or key=value string (database.url).
  std::string url;
  /// When set, every connection uses this schema first (tests give each
  /// case its own schema in one server).
  std::string search_path;
  int connect_timeout_s = 5;
  /// Transient failures outside a group transaction (a read, a unit on its
  /// own) are tried this many times more, waiting retry_base_ms, then four
  /// times as long each time.
  int retries = 3;
  int retry_base_ms = 20;
};

class pg_executor final : public executor {
public:
  /// Connects. @throws db_error (transient when the server is unreachable).
  explicit pg_executor(pg_options opts);
  ~pg_executor() override;
  pg_executor(const pg_executor&) = delete;
  pg_executor& operator=(const pg_executor&) = delete;

  backend kind() const override { return backend::postgres; }

  /// Applies migrations under a session advisory lock, so nodes starting
  /// together apply each migration exactly once.
  std::vector<int> migrate(const std::vector<migration>& all) override;
  int schema_version() override;

  rowset query(const statement& s) override;
  unit_result run(const unit& u) override;

  void begin() override;
  void commit() override;
  void rollback() override;
  bool in_transaction() const override { return in_txn_; }

  void exec(const std::string& sql) override;
  /// Sets lock_timeout (a lock wait beyond it fails as busy()).
  void set_busy_timeout(int ms) override;

  /// The advisory lock key migrate() holds ("pa-migr" in ASCII).
  static constexpr std::int64_t migration_lock_key = 0x70612d6d69677200;

private:
  struct prepared {
    std::string name;
  };

  void connect();
  void ensure_connected();
  /// Runs `work` and tries again after transient failures, when no group
  /// transaction is open (inside one, the whole group is lost anyway).
  template <class F>
  auto with_retries(F work) -> decltype(work());
  rowset execute(const statement& s, const std::vector<rowset>& earlier);
  unit_result run_once(const unit& u);
  void exec_quiet(const char* sql) noexcept;
  [[noreturn]] void fail(pg_result* res, const std::string& what);

  pg_options opts_;
  pg_conn* conn_ = nullptr;
  bool in_txn_ = false;
  int lock_timeout_ms_ = 0;
  std::uint64_t next_name_ = 0;
  /// Keyed by the rewritten SQL and the parameter types.
  std::unordered_map<std::string, prepared> cache_;
};

} // namespace authsvc::db
