#pragma once
// The personal data export (GDPR art. 15/20, issue #17): every read that
// gathers what the service holds about one account, as one unit so the
// document is consistent, and the decoding of its rows.
//
// The export is a list of sections, each naming the table it covers. A test
// (tests/unit/export_store_test.cpp) reads the schema of a migrated database
// and fails when a table with a user_id column has no section here, so a new
// table cannot be forgotten: add its section to sections() in the .cpp (a
// name, the table, and a SELECT of the columns that are not secrets).
#include <cstdint>
#include <string>
#include <vector>

#include "auth/result.hpp"
#include "db/value.hpp"

namespace authsvc::db::export_store {

/// How a section appears in the document: a list of rows, or one object
/// (null when its read finds no row).
enum class shape : std::uint8_t { list, one };

/// One part of the export.
struct section {
  std::string name;  ///< its key in the document
  std::string table; ///< the table it covers
  shape form = shape::list;
  /// The SELECT, with ?1 bound to the user id; it lists the columns it
  /// exports by name (never a secret: no hash, key, token or encrypted
  /// column) and orders its rows.
  std::string sql;
  /// Columns whose text is JSON (objects, arrays, booleans made with
  /// json()), shown as JSON rather than as strings.
  std::vector<std::string> json_columns;
  /// The SELECT PostgreSQL runs instead, when `sql` uses SQLite functions
  /// without a portable spelling (JSON paths); empty when `sql` serves both.
  std::string postgres_sql;
};

/// Every section, in document order; the first is the account itself.
const std::vector<section>& sections();

/// The reads of the export of user `user_id`, one statement per section in
/// sections() order; the unit fails with `not_found_code` when there is no
/// such user.
unit read(const std::string& user_id, const std::string& not_found_code);

/// One exported column of one row.
struct field {
  std::string name;
  value v;
  bool json = false; ///< `v` is JSON text
};

/// The rows of one section.
struct part {
  std::string name;
  shape form = shape::list;
  std::vector<std::vector<field>> rows;
};

/// The sections a read() unit found, in order; store_errc::not_found when
/// the unit failed (no such user).
result<std::vector<part>> decode(const unit_result& r);

} // namespace authsvc::db::export_store
