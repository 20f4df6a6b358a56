// The SQLite-to-PostgreSQL rewriting of statement text (db/pg_dialect): pure
// string work, so it runs in every build, with or without a server.
#include <catch2/catch.hpp>

#include "db/pg_dialect.hpp"

using authsvc::db::to_postgres;

TEST_CASE("parameters become $N, numbered as SQLite numbers them",
          "[db][pg][dialect]") {
  int n = 0;
  CHECK(to_postgres("SELECT a FROM t WHERE b = ? AND c = ?", &n)
        == "SELECT a FROM t WHERE b = $1 AND c = $2");
  CHECK(n == 2);
  CHECK(to_postgres("SELECT ?2, ?1, ?2", &n) == "SELECT $2, $1, $2");
  CHECK(n == 2);
  // A bare ? after ?3 is the fourth, as in SQLite.
  CHECK(to_postgres("VALUES (?3, ?)", &n) == "VALUES ($3, $4)");
  CHECK(n == 4);
  CHECK(to_postgres("SELECT 1", &n) == "SELECT 1");
  CHECK(n == 0);
}

TEST_CASE("literals, quoted names and comments are left alone",
          "[db][pg][dialect]") {
  CHECK(to_postgres("SELECT '?', \"a?b\", 'it''s ?' WHERE x = ?")
        == "SELECT '?', \"a?b\", 'it''s ?' WHERE x = $1");
  CHECK(to_postgres("SELECT 1 -- why? MAX(a, b)\n, ?")
        == "SELECT 1 -- why? MAX(a, b)\n, $1");
  CHECK(to_postgres("SELECT json_extract(p, '$.data.user_id')")
        == "SELECT json_extract(p, '$.data.user_id')");
}

TEST_CASE("scalar MAX/MIN become GREATEST/LEAST, aggregates stay",
          "[db][pg][dialect]") {
  CHECK(to_postgres("SET attempts = MAX(attempts - 1, 0)")
        == "SET attempts = GREATEST(attempts - 1, 0)");
  CHECK(to_postgres("SELECT MAX(created_at) FROM t")
        == "SELECT MAX(created_at) FROM t");
  CHECK(to_postgres("SELECT max((SELECT MAX(a) FROM t), min(b, ?))")
        == "SELECT GREATEST((SELECT MAX(a) FROM t), LEAST(b, $1))");
  CHECK(to_postgres("SELECT COALESCE(MIN(CASE WHEN a <= ? THEN a END), 0)")
        == "SELECT COALESCE(MIN(CASE WHEN a <= $1 THEN a END), 0)");
  // Part of a longer name: untouched.
  CHECK(to_postgres("SELECT my_max(a, b), xmin(c, d)")
        == "SELECT my_max(a, b), xmin(c, d)");
}

TEST_CASE("SQLite's current unix time becomes PostgreSQL's",
          "[db][pg][dialect]") {
  CHECK(to_postgres("VALUES (?, strftime('%s','now'))")
        == "VALUES ($1, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))");
}
