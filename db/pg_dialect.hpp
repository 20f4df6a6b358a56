#pragma once
// The few SQLite spellings our statements use that PostgreSQL spells
// differently, rewritten once per distinct statement (the PostgreSQL
// executor caches the result with the prepared statement). The stores keep
// writing one SQL text for both engines; docs/scale-out.md lists every
// construct they use and why each is portable or rewritten here.
#include <string>

namespace authsvc::db {

/// SQLite statement text in PostgreSQL form:
/// - parameters `?` and `?N` become `$N` (a bare `?` takes the number after
///   the largest one so far, as in SQLite);
/// - the scalar (two or more argument) `MAX(a, b)` / `MIN(a, b)` become
///   `GREATEST` / `LEAST` (the one-argument aggregates stay);
/// - `strftime('%s','now')` becomes the current unix time as a BIGINT.
/// String literals, quoted identifiers and comments are copied untouched.
/// `highest`, when given, receives the largest parameter number used.
std::string to_postgres(const std::string& sql, int* highest = nullptr);

} // namespace authsvc::db
