// The PostgreSQL executor (db/pg_executor) against a real PostgreSQL 15
// server. Runs when PA_TEST_PG_URL names one: ctest's unit_tests_postgres
// starts a throw-away server (tests/tools/pg_server.py) and runs these with
// the store tests; without a server each case says so and passes nothing.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "db/pg_executor.hpp"
#include "test_store.hpp"

using namespace authsvc;
using namespace authsvc::db;

namespace {

/// A fresh schema and an executor on it; null without a server.
struct pg_db {
  testing::store_scope scope;
  std::unique_ptr<executor> ex;
  pg_db() {
    if (!testing::test_pg_url().empty())
      ex = scope.open("unused");
  }
  bool skip() const {
    if (ex)
      return false;
    WARN("PA_TEST_PG_URL is not set: run through ctest -R unit_tests_postgres");
    return true;
  }
};

/// Another connection to the same schema as `db`.
std::unique_ptr<pg_executor> second_connection(executor& ex) {
  auto rs = ex.query(stmt("SELECT current_schema() AS s"));
  return std::make_unique<pg_executor>(
      pg_options{testing::test_pg_url(), rs.rows.at(0).at(0).s});
}

} // namespace

TEST_CASE("pg: the migrations apply once and record their versions",
          "[db][pg]") {
  pg_db db;
  if (db.skip())
    return;
  auto all = embedded_migrations(backend::postgres);
  auto sqlite = embedded_migrations(backend::sqlite);
  REQUIRE(all.size() == sqlite.size()); // one PostgreSQL form per migration
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(all[i].name == sqlite[i].name);
  auto applied = db.ex->migrate(all);
  CHECK(applied.size() == all.size());
  CHECK(db.ex->schema_version() == all.back().version);
  CHECK(db.ex->migrate(all).empty());
  auto changed = all;
  changed[0].sql += "\n-- edited";
  CHECK_THROWS_AS(db.ex->migrate(changed), db_error);
}

TEST_CASE("pg: nodes migrating at once apply each migration exactly once",
          "[db][pg]") {
  pg_db db;
  if (db.skip())
    return;
  auto all = embedded_migrations(backend::postgres);
  constexpr int nodes = 4;
  std::vector<std::unique_ptr<pg_executor>> conns;
  for (int i = 0; i < nodes; ++i)
    conns.push_back(second_connection(*db.ex));
  std::vector<std::vector<int>> applied(nodes);
  std::vector<std::string> errors(nodes);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < nodes; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < nodes) {
      } // start together
      try {
        applied[i] = conns[i]->migrate(all);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads)
    t.join();
  std::multiset<int> versions;
  for (int i = 0; i < nodes; ++i) {
    CHECK(errors[i].empty());
    versions.insert(applied[i].begin(), applied[i].end());
  }
  CHECK(versions.size() == all.size());
  for (const auto& m : all)
    CHECK(versions.count(m.version) == 1);
  auto rows = db.ex->query(stmt("SELECT COUNT(*) AS n FROM schema_migrations"));
  CHECK(rows.rows[0][0].i == static_cast<std::int64_t>(all.size()));
}

TEST_CASE("pg: values round-trip with their kinds", "[db][pg]") {
  pg_db db;
  if (db.skip())
    return;
  db.ex->exec("CREATE TABLE v (i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA, "
              "n TEXT)");
  std::string bytes("\0\x01\xff'\\x", 6);
  auto r = db.ex->run(unit{
      {stmt("INSERT INTO v VALUES (?, ?, ?, ?, ?)",
            {value::integer(-9'007'199'254'740'993), value::real(0.25),
             value::text("ünï 'q' ?"), value::blob(bytes), value::null()})}});
  REQUIRE(r.ok);
  CHECK(r.results[0].changes == 1);
  auto rs = db.ex->query(stmt("SELECT i, r, t, b, n, i > ?1 AS big, "
                              "COUNT(*) OVER () AS c FROM v",
                              {value::integer(0)}));
  REQUIRE(rs.rows.size() == 1);
  CHECK(rs.at(0, "i").kind == value::int_v);
  CHECK(rs.at(0, "i").i == -9'007'199'254'740'993);
  CHECK(rs.at(0, "r").d == 0.25);
  CHECK(rs.at(0, "t").s == "ünï 'q' ?");
  CHECK(rs.at(0, "b").kind == value::blob_v);
  CHECK(rs.at(0, "b").s == bytes);
  CHECK(rs.at(0, "n").is_null());
  CHECK(rs.at(0, "big").i == 0); // booleans read as 0/1, as in SQLite
  CHECK(rs.at(0, "c").i == 1);
}

TEST_CASE("pg: a unit is all or nothing, and says which statement failed",
          "[db][pg]") {
  pg_db db;
  if (db.skip())
    return;
  db.ex->exec("CREATE TABLE k (id TEXT PRIMARY KEY, n BIGINT NOT NULL)");
  REQUIRE(db.ex->run(unit{{stmt("INSERT INTO k VALUES ('a', 1)")}}).ok);

  // A constraint: the first insert of the unit is undone too.
  auto dup = db.ex->run(unit{{stmt("INSERT INTO k VALUES ('b', 2)"),
                              stmt("INSERT INTO k VALUES ('a', 3)")}});
  CHECK_FALSE(dup.ok);
  CHECK(dup.failed_index == 1);
  CHECK(dup.fail_code == "constraint");
  // A precondition (no row to update).
  auto pre = db.ex->run(
      unit{{stmt("INSERT INTO k VALUES ('c', 4)"),
            stmt_one("UPDATE k SET n = 5 WHERE id = 'zz'", {}, "gone")}});
  CHECK_FALSE(pre.ok);
  CHECK(pre.fail_code == "gone");
  // A reference to an earlier statement's row.
  auto chained = db.ex->run(
      unit{{stmt("INSERT INTO k VALUES ('d', 7) RETURNING n"),
            stmt("INSERT INTO k VALUES ('e', ?)", {value::ref(0, "n")})}});
  CHECK(chained.ok);
  auto rs = db.ex->query(stmt("SELECT id, n FROM k ORDER BY id"));
  REQUIRE(rs.rows.size() == 3);
  CHECK(rs.rows[0][0].s == "a");
  CHECK(rs.rows[1][0].s == "d");
  CHECK(rs.rows[2][1].i == 7);

  // Inside a group transaction a failed unit leaves the others in place.
  db.ex->begin();
  CHECK(db.ex->run(unit{{stmt("INSERT INTO k VALUES ('f', 1)")}}).ok);
  CHECK_FALSE(db.ex->run(unit{{stmt("INSERT INTO k VALUES ('a', 1)")}}).ok);
  CHECK(db.ex->run(unit{{stmt("INSERT INTO k VALUES ('g', 1)")}}).ok);
  db.ex->commit();
  CHECK(db.ex->query(stmt("SELECT id FROM k")).rows.size() == 5);
}

TEST_CASE("pg: failures are classified the way the DB actor acts on them",
          "[db][pg]") {
  pg_db db;
  if (db.skip())
    return;
  db.ex->exec("CREATE TABLE k (id TEXT PRIMARY KEY)");
  SECTION("our own mistakes are not transient") {
    try {
      db.ex->query(stmt("SELECT no_such_column FROM k"));
      FAIL("no error");
    } catch (const db_error& e) {
      CHECK_FALSE(e.transient());
      CHECK(e.sqlstate() == "42703");
    }
    CHECK_THROWS_AS(db.ex->query(stmt("SELECT ?", {})), db_error);
    try {
      db.ex->query(stmt("SELECT ?", {}));
    } catch (const db_error& e) {
      CHECK_FALSE(e.transient()); // not mistaken for a protocol failure
    }
  }
  SECTION("a lost connection is retried outside a transaction") {
    auto other = second_connection(*db.ex);
    auto pid = db.ex->query(stmt("SELECT pg_backend_pid() AS p")).rows[0][0].i;
    other->query(stmt("SELECT pg_terminate_backend(CAST(? AS INTEGER), 5000)",
                      {value::integer(pid)}));
    // The next read finds the connection dead, reconnects and succeeds.
    CHECK(db.ex->query(stmt("SELECT 1 AS one")).rows[0][0].i == 1);
    CHECK(db.ex->query(stmt("SELECT pg_backend_pid() AS p")).rows[0][0].i
          != pid);
    // Inside a group transaction the group is lost: transient, no retry.
    pid = db.ex->query(stmt("SELECT pg_backend_pid() AS p")).rows[0][0].i;
    db.ex->begin();
    CHECK(db.ex->run(unit{{stmt("INSERT INTO k VALUES ('x')")}}).ok);
    other->query(stmt("SELECT pg_terminate_backend(CAST(? AS INTEGER), 5000)",
                      {value::integer(pid)}));
    try {
      db.ex->run(unit{{stmt("INSERT INTO k VALUES ('y')")}});
      FAIL("no error");
    } catch (const db_error& e) {
      CHECK(e.transient());
    }
    db.ex->rollback();
    CHECK(db.ex->query(stmt("SELECT id FROM k")).empty());
  }
  SECTION("a deadlock is transient") {
    db.ex->exec("INSERT INTO k VALUES ('a'), ('b')");
    auto other = second_connection(*db.ex);
    db.ex->begin();
    other->begin();
    db.ex->query(stmt("UPDATE k SET id = 'a' WHERE id = 'a'"));
    other->query(stmt("UPDATE k SET id = 'b' WHERE id = 'b'"));
    std::string other_state;
    std::thread t([&] {
      try {
        other->query(stmt("UPDATE k SET id = 'a' WHERE id = 'a'"));
      } catch (const db_error& e) {
        other_state = e.transient() ? "transient" : e.sqlstate();
      }
    });
    std::string mine;
    try {
      db.ex->query(stmt("UPDATE k SET id = 'b' WHERE id = 'b'"));
    } catch (const db_error& e) {
      mine = e.transient() ? "transient" : e.sqlstate();
    }
    // Exactly one of the two is chosen as the victim, and it is transient.
    if (mine.empty())
      db.ex->commit();
    else
      db.ex->rollback();
    t.join();
    if (other_state.empty())
      other->commit();
    else
      other->rollback();
    CHECK(mine.empty() != other_state.empty());
    CHECK((mine + other_state) == "transient");
  }
  SECTION("a lock wait beyond the busy timeout is busy") {
    db.ex->exec("INSERT INTO k VALUES ('a')");
    auto other = second_connection(*db.ex);
    other->begin();
    other->query(stmt("UPDATE k SET id = 'a' WHERE id = 'a'"));
    db.ex->set_busy_timeout(50);
    try {
      db.ex->query(stmt("UPDATE k SET id = 'a' WHERE id = 'a'"));
      FAIL("no error");
    } catch (const db_error& e) {
      CHECK(e.busy());
    }
    other->rollback();
  }
}

TEST_CASE("pg: a server that is not there is transient", "[db][pg]") {
  pg_db db;
  if (db.skip())
    return;
  try {
    // Port 1 on loopback: nothing listens there.
    pg_executor none{pg_options{"postgresql://pa@127.0.0.1:1/auth", {}, 2}};
    FAIL("connected");
  } catch (const db_error& e) {
    CHECK(e.transient());
  }
}
