// The personal data export is complete (issue #17): every table with a
// user_id column (and users itself) has a section in db::export_store, read
// from the schema of a really migrated database, so a migration that adds
// such a table fails here until the export covers it. Then one row is put in
// each of those tables for one user, and the export's read must find each.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "db/export_store.hpp"
#include "tests/unit/temp_db.hpp"
#include "tests/unit/test_store.hpp"

using namespace authsvc::db;

namespace {

using authsvc::testing::temp_db;

struct column_info {
  std::string name;
  std::string type; ///< INTEGER, BLOB or TEXT (PostgreSQL's types mapped)
  bool not_null = false;
  bool has_default = false; ///< a default, or a value the engine assigns
};

/// Every table of the schema with its columns, the engine's own tables
/// left out: sqlite_master + pragma table_info on SQLite, the
/// information_schema of the test's schema on PostgreSQL.
std::map<std::string, std::vector<column_info>> schema(executor& ex) {
  std::map<std::string, std::vector<column_info>> out;
  if (ex.kind() == backend::postgres) {
    auto cols = ex.query(stmt(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, "
        "c.column_default, c.is_identity FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
        "WHERE c.table_schema = current_schema() "
        "ORDER BY c.table_name, c.ordinal_position"));
    for (std::size_t i = 0; i < cols.rows.size(); ++i) {
      const auto& pg_type = cols.at(i, "data_type").s;
      std::string type = pg_type == "bigint"  ? "INTEGER"
                         : pg_type == "bytea" ? "BLOB"
                                              : "TEXT";
      out[cols.at(i, "table_name").s].push_back(
          {cols.at(i, "column_name").s, type,
           cols.at(i, "is_nullable").s == "NO",
           !cols.at(i, "column_default").is_null()
               || cols.at(i, "is_identity").s == "YES"});
    }
    return out;
  }
  auto tables = ex.query(
      stmt("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
           "LIKE 'sqlite_%' ORDER BY name"));
  for (const auto& row : tables.rows) {
    const auto& name = row[0].s;
    auto cols = ex.query(stmt("SELECT name, type, \"notnull\", dflt_value, pk "
                              "FROM pragma_table_info(?)",
                              {value::text(name)}));
    auto& list = out[name];
    for (std::size_t i = 0; i < cols.rows.size(); ++i) {
      bool pk = cols.at(i, "pk").i != 0;
      const auto& type = cols.at(i, "type").s;
      // A primary key is never NULL; an INTEGER one is the rowid, which
      // SQLite assigns.
      list.push_back(
          {cols.at(i, "name").s, type, cols.at(i, "notnull").i != 0 || pk,
           !cols.at(i, "dflt_value").is_null() || (pk && type == "INTEGER")});
    }
  }
  return out;
}

bool has_user_id(const std::vector<column_info>& cols) {
  for (const auto& c : cols)
    if (c.name == "user_id")
      return true;
  return false;
}

/// Values for columns whose CHECK a generic value would not pass. A new
/// table with such a column needs its entry here (the fill says which).
const std::map<std::pair<std::string, std::string>, value>& overrides() {
  static const std::map<std::pair<std::string, std::string>, value> v = {
      {{"webauthn_challenges", "purpose"}, value::text("register")},
  };
  return v;
}

/// Inserts one row of `table` for user `uid`: user_id set, every other
/// NOT NULL column without a default given a value of its type (unique to
/// the user, so two users' rows do not collide on a key).
void fill(executor& ex, const std::string& table,
          const std::vector<column_info>& cols, const std::string& uid) {
  std::string names, marks;
  std::vector<value> params;
  for (const auto& c : cols) {
    value v;
    if (auto it = overrides().find({table, c.name}); it != overrides().end())
      v = it->second;
    else if (c.name == "user_id")
      v = value::text(uid);
    else if (!c.not_null)
      continue;
    else if (c.has_default)
      continue; // the default, or the rowid / identity the engine assigns
    else if (c.type == "INTEGER")
      v = value::integer(1);
    else if (c.type == "BLOB")
      v = value::blob("x");
    else
      v = value::text(table + "-" + c.name + "-" + uid); // unique per user
    names += (names.empty() ? "" : ", ") + c.name;
    marks += marks.empty() ? "?" : ", ?";
    params.push_back(v);
  }
  unit u;
  u.statements.push_back(
      stmt("INSERT INTO " + table + " (" + names + ") VALUES (" + marks + ")",
           params));
  INFO("filling " << table
                  << " with generic values failed: give the column that "
                     "refused one an entry in overrides()");
  REQUIRE(ex.run(u).ok);
}

/// A freshly migrated database (SQLite, or a PostgreSQL schema when the
/// run has a server: tests/unit/test_store.hpp) and its schema.
struct migrated_db {
  temp_db t;
  authsvc::testing::store_scope scope;
  std::unique_ptr<executor> db = scope.open_migrated(t.path());
  executor& ex = *db;
  std::map<std::string, std::vector<column_info>> tables = schema(ex);
};

} // namespace

TEST_CASE("every table with a user_id column is in the data export",
          "[db][export]") {
  migrated_db m;
  const auto& tables = m.tables;
  REQUIRE(tables.count("users") == 1);

  std::set<std::string> covered;
  for (const auto& s : export_store::sections())
    covered.insert(s.table);
  std::set<std::string> with_user_id{"users"};
  for (const auto& [name, cols] : tables)
    if (has_user_id(cols))
      with_user_id.insert(name);
  // The schema as of migration 0006 has these; a smaller set would mean
  // the schema read is broken, not that the export is complete.
  for (const char* known : {"sessions", "webauthn_credentials", "totp",
                            "recovery_codes", "audit_logs", "email_flows"})
    CHECK(with_user_id.count(known) == 1);
  for (const auto& name : with_user_id) {
    INFO("table " << name
                  << " has a user_id column but no section in "
                     "db/export_store.cpp sections()");
    CHECK(covered.count(name) == 1);
  }
  // Each section reads a table that exists.
  for (const auto& name : covered) {
    INFO("a section covers table " << name << ", which the schema lacks");
    CHECK(tables.count(name) == 1);
  }
}

TEST_CASE("the export finds a row of every table that holds one for the user",
          "[db][export]") {
  migrated_db m;
  auto& ex = m.ex;
  auto& tables = m.tables;
  const std::string uid = "user-1";
  unit add_user;
  add_user.statements.push_back(
      stmt("INSERT INTO users(id, email, created_at, updated_at) VALUES "
           "(?, 'ann@example.org', 1, 1)",
           {value::text(uid)}));
  // Someone else's rows must not appear in Ann's export.
  add_user.statements.push_back(
      stmt("INSERT INTO users(id, email, created_at, updated_at) VALUES "
           "('user-2', 'bob@example.org', 1, 1)"));
  REQUIRE(ex.run(add_user).ok);
  for (const auto& [name, cols] : tables)
    if (name != "users" && has_user_id(cols)) {
      fill(ex, name, cols, uid);
      fill(ex, name, cols, "user-2");
    }

  // Webhook deliveries are found by the user id in their payload (a JSON
  // path, spelled per engine); a payload that is not JSON is skipped, not
  // an error.
  unit hooks;
  hooks.statements.push_back(
      stmt("INSERT INTO webhook_endpoints(id, url, secret_enc, created_at) "
           "VALUES ('ep-1', 'https://hooks.example.org/', ?, 1)",
           {value::blob("k")}));
  for (const char* payload :
       {R"({"type":"user.updated","data":{"user_id":"user-1"}})",
        R"({"type":"user.updated","data":{"user_id":"user-2"}})", "not json {"})
    hooks.statements.push_back(
        stmt("INSERT INTO webhook_deliveries(id, endpoint_id, event_type, "
             "payload, next_attempt_at, created_at) VALUES (?, 'ep-1', "
             "'user.updated', ?, 1, 1)",
             {value::text(std::string("d-") + payload), value::text(payload)}));
  REQUIRE(ex.run(hooks).ok);

  auto r = ex.run(export_store::read(uid, "not_found"));
  REQUIRE(r.ok);
  auto parts = export_store::decode(r);
  REQUIRE(parts);
  const auto& sections = export_store::sections();
  REQUIRE(parts->size() == sections.size());
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const auto& s = sections[i];
    if (s.table == "webhook_deliveries") {
      REQUIRE((*parts)[i].rows.size() == 1);
      CHECK((*parts)[i].rows[0][0].v.s
            == R"(d-{"type":"user.updated","data":{"user_id":"user-1"}})");
      continue;
    }
    if (s.table != "users" && !has_user_id(tables[s.table]))
      continue; // mail: not keyed by user_id
    INFO("section " << s.name << " (table " << s.table << ")");
    // Exactly the user's own row: one, not the other user's as well.
    CHECK((*parts)[i].rows.size() == 1);
  }

  auto none = ex.run(export_store::read("no-such-user", "not_found"));
  CHECK_FALSE(none.ok);
  CHECK(none.fail_code == "not_found");
  CHECK_FALSE(export_store::decode(none));
}

TEST_CASE("no section exports a secret column", "[db][export]") {
  // The columns that hold hashes, keys, tokens or encrypted values end in
  // these; a section must not select them (it names its columns, so a
  // SELECT * would also be caught by the list below).
  for (const auto& s : export_store::sections()) {
    INFO("section " << s.name);
    for (const char* secret :
         {"_hash", "_enc", "public_key", "challenge,", "SELECT *", "secret"}) {
      CHECK(s.sql.find(secret) == std::string::npos);
      CHECK(s.postgres_sql.find(secret) == std::string::npos);
    }
  }
}
