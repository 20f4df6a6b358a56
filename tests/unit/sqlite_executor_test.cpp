#include <catch2/catch.hpp>

#include <filesystem>

#include "db/sqlite_executor.hpp"
#include "tests/unit/temp_db.hpp"

using namespace authsvc::db;

using authsvc::testing::temp_db;

TEST_CASE("migrations apply once per file, in order", "[db]") {
  temp_db t;
  {
    sqlite_executor ex(t.path(), "normal", 1000);
    auto applied = ex.migrate(embedded_migrations());
    CHECK_FALSE(applied.empty());
    CHECK(ex.schema_version() == applied.back());
    CHECK(ex.migrate(embedded_migrations()).empty());
  }
  sqlite_executor again(t.path(), "normal", 1000);
  CHECK(again.migrate(embedded_migrations()).empty());
  auto fk = again.query(stmt("PRAGMA foreign_keys"));
  CHECK(fk.rows[0][0].i == 1);
}

TEST_CASE("a changed applied migration is refused", "[db]") {
  temp_db t;
  sqlite_executor ex(t.path(), "normal", 1000);
  auto ms = parse_migrations({{"0001_a.sql", "CREATE TABLE a(x);"}});
  ex.migrate(ms);
  auto changed = parse_migrations({{"0001_a.sql", "CREATE TABLE a(y);"}});
  CHECK_THROWS_AS(ex.migrate(changed), db_error);
  CHECK_THROWS(parse_migrations({{"a.sql", ""}}));
  CHECK_THROWS(parse_migrations({{"1_a.sql", ""}, {"01_b.sql", ""}}));
}

TEST_CASE("a unit commits all or nothing", "[db]") {
  temp_db t;
  sqlite_executor ex(t.path(), "normal", 1000);
  ex.exec("CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)");
  unit ok;
  ok.statements.push_back(stmt("INSERT INTO kv VALUES ('a', 1) RETURNING k"));
  ok.statements.push_back(
      stmt("INSERT INTO kv SELECT ? || '2', 2", {value::ref(0, "k")}));
  auto r = ex.run(ok);
  CHECK(r.ok);
  CHECK(ex.query(stmt("SELECT COUNT(*) FROM kv")).rows[0][0].i == 2);
  CHECK(ex.query(stmt("SELECT v FROM kv WHERE k = 'a2'")).rows[0][0].i == 2);

  unit conflict;
  conflict.statements.push_back(stmt("INSERT INTO kv VALUES ('b', 1)"));
  conflict.statements.push_back(stmt("INSERT INTO kv VALUES ('a', 9)"));
  r = ex.run(conflict);
  CHECK_FALSE(r.ok);
  CHECK(r.failed_index == 1);
  CHECK(r.fail_code == "constraint");
  CHECK(ex.query(stmt("SELECT COUNT(*) FROM kv WHERE k = 'b'")).rows[0][0].i
        == 0);

  unit guarded;
  guarded.statements.push_back(stmt("INSERT INTO kv VALUES ('c', 3)"));
  guarded.statements.push_back(
      stmt_one("UPDATE kv SET v = 0 WHERE k = 'zzz'", {}, "not_found"));
  r = ex.run(guarded);
  CHECK_FALSE(r.ok);
  CHECK(r.fail_code == "not_found");
  CHECK(ex.query(stmt("SELECT COUNT(*) FROM kv WHERE k = 'c'")).rows[0][0].i
        == 0);
}

TEST_CASE("values round-trip with their types", "[db]") {
  temp_db t;
  sqlite_executor ex(t.path(), "normal", 1000);
  auto rs = ex.query(
      stmt("SELECT ?, ?, ?, ?, ?",
           {value::integer(42), value::real(1.5), value::text("héllo"),
            value::blob(std::string("\0\1", 2)), value::null()}));
  REQUIRE(rs.rows.size() == 1);
  CHECK(rs.rows[0][0].i == 42);
  CHECK(rs.rows[0][1].d == 1.5);
  CHECK(rs.rows[0][2].s == "héllo");
  CHECK(rs.rows[0][3].s == std::string("\0\1", 2));
  CHECK(rs.rows[0][4].is_null());
  CHECK_THROWS_AS(ex.query(stmt("SELECT ?", {})), db_error);
}
