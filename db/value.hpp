#pragma once
// The DB actor's message vocabulary: SQL statements with bound values, units
// of statements that commit or fail together, and result sets. Plain structs
// with inspect() so they can be logged and cross nodes; no sqlite3.h here.
#include <cstdint>
#include <string>
#include <vector>

namespace authsvc::db {

/// One SQL value. `ref` is not a SQL type: it stands for a column of the
/// first row returned by an earlier statement of the same unit, so a unit can
/// chain INSERT ... RETURNING into later statements without a round trip.
struct value {
  enum kind_t : std::uint8_t { null_v, int_v, real_v, text_v, blob_v, ref_v };
  std::uint8_t kind = null_v;
  std::int64_t i = 0;
  double d = 0;
  std::string s;

  static value null() { return {}; }
  static value integer(std::int64_t x) { return {int_v, x, 0, {}}; }
  static value real(double x) { return {real_v, 0, x, {}}; }
  static value text(std::string x) { return {text_v, 0, 0, std::move(x)}; }
  static value blob(std::string x) { return {blob_v, 0, 0, std::move(x)}; }
  /// Column `column` of the first row of statement `index` in the unit.
  static value ref(std::int64_t index, std::string column) {
    return {ref_v, index, 0, std::move(column)};
  }

  bool is_null() const { return kind == null_v; }
  std::int64_t as_int() const {
    return kind == real_v ? static_cast<std::int64_t>(d) : i;
  }
  const std::string& as_text() const { return s; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, value& x) {
  return f(x.kind, x.i, x.d, x.s);
}

/// A statement and its parameters. `min_rows`/`max_rows` state what must
/// hold for the unit to go on: for statements that return rows it counts
/// rows, otherwise changed rows. When it does not hold, the unit rolls back
/// and reports `fail_code` (e.g. "invalid_link").
///
/// `sql` is written once for both engines (db/pg_dialect rewrites it for
/// PostgreSQL). `postgres_sql`, when not empty, is the text PostgreSQL runs
/// instead, for the few statements whose SQLite functions have no portable
/// spelling (JSON paths, byte lengths; docs/scale-out.md lists them); it
/// takes the same parameters and is rewritten the same way.
struct statement {
  std::string sql;
  std::vector<value> params;
  std::int32_t min_rows = -1;
  std::int32_t max_rows = -1;
  std::string fail_code;
  std::string postgres_sql;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, statement& x) {
  return f(x.sql, x.params, x.min_rows, x.max_rows, x.fail_code,
           x.postgres_sql);
}

/// Statements that take effect together or not at all.
struct unit {
  std::vector<statement> statements;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit& x) {
  return f(x.statements);
}

/// The rows of one statement; `changes` counts modified rows.
struct rowset {
  std::vector<std::string> columns;
  std::vector<std::vector<value>> rows;
  std::int64_t changes = 0;

  bool empty() const { return rows.empty(); }
  /// Index of a column by name, or -1.
  int column(const std::string& name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name)
        return static_cast<int>(i);
    return -1;
  }
  /// The value at (row, column name); a null value when absent.
  const value& at(std::size_t row, const std::string& name) const {
    static const value none;
    auto c = column(name);
    if (row >= rows.size() || c < 0)
      return none;
    return rows[row][static_cast<std::size_t>(c)];
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rowset& x) {
  return f(x.columns, x.rows, x.changes);
}

/// The outcome of a unit. When `ok` is false nothing of it was written:
/// `failed_index` names the statement and `fail_code` the reason (the
/// statement's own code, or "constraint" for a constraint violation).
struct unit_result {
  bool ok = true;
  std::int32_t failed_index = -1;
  std::string fail_code;
  std::vector<rowset> results;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_result& x) {
  return f(x.ok, x.failed_index, x.fail_code, x.results);
}

/// What the DB actor reports about itself (readiness, health).
struct status {
  bool open = false;
  bool migrated = false;
  std::int32_t schema_version = 0;
  std::string last_error;
  /// Why writes are refused now ("disk_full", "locked", "io_error"); empty
  /// while the database takes writes.
  std::string refusing_writes;
  std::int64_t refusing_since = 0; ///< unix seconds; 0 = not refusing
  std::int64_t writes_refused = 0; ///< writes answered 503 in this episode
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status& x) {
  return f(x.open, x.migrated, x.schema_version, x.last_error,
           x.refusing_writes, x.refusing_since, x.writes_refused);
}

/// Convenience: a statement from SQL and values.
inline statement stmt(std::string sql, std::vector<value> params = {}) {
  statement s;
  s.sql = std::move(sql);
  s.params = std::move(params);
  return s;
}

/// Convenience: a statement that must touch or return exactly one row,
/// else the unit fails with `code`.
inline statement stmt_one(std::string sql, std::vector<value> params,
                          std::string code) {
  auto s = stmt(std::move(sql), std::move(params));
  s.min_rows = 1;
  s.max_rows = 1;
  s.fail_code = std::move(code);
  return s;
}

} // namespace authsvc::db
