#pragma once
// The database a store test runs on: a SQLite file by default, or, when
// PA_TEST_PG_URL names a PostgreSQL server (tests/tools/pg_server.py run --
// unit_tests ...), a schema of its own in that server, dropped at the end.
// So one test body checks the same statements on both engines.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "db/pg_executor.hpp"
#include "db/sqlite_executor.hpp"

namespace authsvc::testing {

/// The PostgreSQL server of this run, or "" for SQLite.
inline std::string test_pg_url() {
  const char* url = std::getenv("PA_TEST_PG_URL");
  return url ? url : "";
}

/// Owns what a test database needs besides its executor (the PostgreSQL
/// schema). Declare it before the executor, so it outlives it.
class store_scope {
public:
  store_scope() = default;
  store_scope(const store_scope&) = delete;
  store_scope& operator=(const store_scope&) = delete;
  ~store_scope() {
    if (schema_.empty())
      return;
    try {
      db::pg_executor admin{db::pg_options{test_pg_url(), {}}};
      admin.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    } catch (...) { // a server already gone takes the schema with it
    }
  }

  /// A new executor on `sqlite_path`, or on a fresh PostgreSQL schema.
  std::unique_ptr<db::executor> open(const std::string& sqlite_path) {
    auto url = test_pg_url();
    if (url.empty())
      return std::make_unique<db::sqlite_executor>(sqlite_path, "normal", 1000);
    if (schema_.empty()) {
      std::random_device rd;
      schema_ = "t_" + std::to_string(rd()) + "_" + std::to_string(rd());
      db::pg_executor admin{db::pg_options{url, {}}};
      admin.exec("CREATE SCHEMA " + schema_);
    }
    return std::make_unique<db::pg_executor>(db::pg_options{url, schema_});
  }

  /// open() and migrate with the engine's own migrations.
  std::unique_ptr<db::executor> open_migrated(const std::string& sqlite_path) {
    auto ex = open(sqlite_path);
    ex->migrate(db::embedded_migrations(ex->kind()));
    return ex;
  }

private:
  std::string schema_;
};

} // namespace authsvc::testing
