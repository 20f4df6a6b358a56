// The raw sqlite3 C API is used on purpose: the executor needs only
// prepare/bind/step/column plus savepoints, and reports failures as values;
// a wrapper that throws on every step (SQLiteCpp) would sit in the way of
// the expected-style results the DB actor returns.
#include "db/sqlite_executor.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/crypto.hpp"
#include "core/embedded.hpp"

namespace authsvc::db {

bool db_error::busy() const noexcept {
  if (kind_ != failure::sqlite_code)
    return kind_ == failure::busy;
  int primary = code_ & 0xFF;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

bool db_error::full() const noexcept {
  if (kind_ != failure::sqlite_code)
    return kind_ == failure::full;
  return (code_ & 0xFF) == SQLITE_FULL;
}

bool db_error::io() const noexcept {
  if (kind_ != failure::sqlite_code)
    return kind_ == failure::io;
  return (code_ & 0xFF) == SQLITE_IOERR;
}

bool db_error::constraint() const noexcept {
  if (kind_ != failure::sqlite_code)
    return kind_ == failure::constraint;
  return (code_ & 0xFF) == SQLITE_CONSTRAINT;
}

std::vector<migration> parse_migrations(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<migration> out;
  for (const auto& [path, sql] : files) {
    auto name = std::filesystem::path(path).filename().string();
    std::size_t digits = 0;
    while (digits < name.size()
           && std::isdigit(static_cast<unsigned char>(name[digits])))
      ++digits;
    if (digits == 0 || digits >= name.size() || name[digits] != '_'
        || name.size() < 5 || name.substr(name.size() - 4) != ".sql")
      throw std::runtime_error("migration file '" + name
                               + "' is not named NNNN_name.sql");
    migration m{std::stoi(name.substr(0, digits)),
                name.substr(0, name.size() - 4), sql};
    for (const auto& other : out)
      if (other.version == m.version)
        throw std::runtime_error("two migrations share number "
                                 + std::to_string(m.version));
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  return out;
}

std::vector<migration> embedded_migrations(backend b) {
  // migrations/ holds the SQLite files at its top and the PostgreSQL form of
  // the same migrations in migrations/postgres/ (one embedded folder).
  const std::string pg_prefix = "postgres/";
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& f : embedded::migrations_blob()) {
    bool is_pg = f.path.rfind(pg_prefix, 0) == 0;
    bool top = f.path.find('/') == std::string::npos;
    if (b == backend::postgres ? is_pg : top)
      files.emplace_back(f.path, f.contents);
  }
  return parse_migrations(files);
}

namespace {

/// False for SQLite's in-memory and URI names, which are no plain file path.
bool is_file_path(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

} // namespace

sqlite_executor::sqlite_executor(const std::string& path,
                                 const std::string& synchronous,
                                 int busy_timeout_ms) {
  bool on_disk = is_file_path(path);
  auto parent = std::filesystem::path(path).parent_path();
  if (on_disk && !parent.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(parent, ec)
        && std::filesystem::create_directories(parent, ec))
      ::chmod(parent.c_str(), 0700); // a folder we made: ours alone
  }
  // SQLite creates files with 0644 less the umask, and gives the -wal and
  // -shm files the mode of the database. Creating the file ourselves, 0600,
  // keeps all three owner-only whatever the umask.
  if (on_disk) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
      ::close(fd);
  }
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                               | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw db_error(rc, "cannot open database '" + path + "': " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  exec("PRAGMA foreign_keys = ON");
  exec("PRAGMA journal_mode = WAL");
  // Files an older version (or a copy) left readable are tightened: they
  // hold personal data and sealed secrets.
  if (on_disk)
    for (const char* suffix : {"", "-wal", "-shm"})
      ::chmod((path + suffix).c_str(), 0600);
  std::string sync = synchronous;
  std::transform(sync.begin(), sync.end(), sync.begin(), ::toupper);
  exec("PRAGMA synchronous = " + sync);
}

sqlite_executor::~sqlite_executor() {
  for (auto& [sql, st] : cache_)
    sqlite3_finalize(st);
  if (db_) {
    if (in_txn_)
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
}

void sqlite_executor::fail(int rc, const std::string& what) {
  throw db_error(rc, what + ": " + sqlite3_errmsg(db_));
}

void sqlite_executor::exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw db_error(rc, msg);
  }
}

std::vector<int> sqlite_executor::migrate(const std::vector<migration>& all) {
  exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
       " version INTEGER PRIMARY KEY,"
       " name TEXT NOT NULL,"
       " checksum TEXT NOT NULL,"
       " applied_at INTEGER NOT NULL)");
  std::vector<int> applied;
  for (const auto& m : all) {
    auto checksum = auth::token_hash(m.sql);
    // BEGIN IMMEDIATE takes the write lock first, so two processes starting
    // on one file cannot both apply the same migration.
    exec("BEGIN IMMEDIATE");
    try {
      auto done = query(stmt("SELECT checksum FROM schema_migrations "
                             "WHERE version = ?",
                             {value::integer(m.version)}));
      if (!done.empty()) {
        exec("ROLLBACK");
        if (done.rows[0][0].s != checksum)
          throw db_error(SQLITE_ERROR,
                         "migration " + m.name
                             + " was changed after it was applied");
        continue;
      }
      exec(m.sql);
      query(stmt("INSERT INTO schema_migrations(version, name, checksum, "
                 "applied_at) VALUES (?, ?, ?, strftime('%s','now'))",
                 {value::integer(m.version), value::text(m.name),
                  value::text(checksum)}));
      exec("COMMIT");
      applied.push_back(m.version);
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  return applied;
}

int sqlite_executor::schema_version() {
  auto r
      = query(stmt("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return r.empty() ? 0 : static_cast<int>(r.rows[0][0].i);
}

sqlite3_stmt* sqlite_executor::prepare(const std::string& sql) {
  if (auto it = cache_.find(sql); it != cache_.end())
    return it->second;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK)
    fail(rc, "prepare failed for: " + sql);
  cache_.emplace(sql, st);
  return st;
}

rowset sqlite_executor::step_all(sqlite3_stmt* st, const statement& s,
                                 const std::vector<rowset>& earlier) {
  // Reset on every path out, so a cached statement never keeps a read open.
  struct reset_guard {
    sqlite3_stmt* st;
    ~reset_guard() {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    }
  } guard{st};
  int expected = sqlite3_bind_parameter_count(st);
  if (expected != static_cast<int>(s.params.size()))
    throw db_error(SQLITE_RANGE, "statement wants " + std::to_string(expected)
                                     + " parameters, got "
                                     + std::to_string(s.params.size()) + ": "
                                     + s.sql);
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    const value* v = &s.params[i];
    if (v->kind == value::ref_v) {
      auto idx = static_cast<std::size_t>(v->i);
      if (idx >= earlier.size() || earlier[idx].empty())
        throw db_error(SQLITE_MISUSE, "reference to a statement with no row");
      v = &earlier[idx].at(0, v->s);
    }
    int col = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    switch (v->kind) {
    case value::int_v:
      rc = sqlite3_bind_int64(st, col, v->i);
      break;
    case value::real_v:
      rc = sqlite3_bind_double(st, col, v->d);
      break;
    case value::text_v:
      rc = sqlite3_bind_text(st, col, v->s.data(),
                             static_cast<int>(v->s.size()), SQLITE_STATIC);
      break;
    case value::blob_v:
      rc = sqlite3_bind_blob(st, col, v->s.data(),
                             static_cast<int>(v->s.size()), SQLITE_STATIC);
      break;
    default:
      rc = sqlite3_bind_null(st, col);
    }
    if (rc != SQLITE_OK)
      fail(rc, "bind failed");
  }
  rowset out;
  int ncols = sqlite3_column_count(st);
  for (int c = 0; c < ncols; ++c)
    out.columns.emplace_back(sqlite3_column_name(st, c));
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
      break;
    if (rc != SQLITE_ROW)
      fail(rc, "step failed");
    std::vector<value> row;
    row.reserve(static_cast<std::size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
      switch (sqlite3_column_type(st, c)) {
      case SQLITE_INTEGER:
        row.push_back(value::integer(sqlite3_column_int64(st, c)));
        break;
      case SQLITE_FLOAT:
        row.push_back(value::real(sqlite3_column_double(st, c)));
        break;
      case SQLITE_TEXT: {
        auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row.push_back(value::text(std::string(
            p, static_cast<std::size_t>(sqlite3_column_bytes(st, c)))));
        break;
      }
      case SQLITE_BLOB: {
        auto p = static_cast<const char*>(sqlite3_column_blob(st, c));
        auto n = static_cast<std::size_t>(sqlite3_column_bytes(st, c));
        row.push_back(value::blob(p ? std::string(p, n) : std::string()));
        break;
      }
      default:
        row.push_back(value::null());
      }
    }
    out.rows.push_back(std::move(row));
  }
  out.changes = ncols == 0 ? sqlite3_changes64(db_) : 0;
  return out;
}

rowset sqlite_executor::query(const statement& s) {
  return step_all(prepare(s.sql), s, {});
}

unit_result sqlite_executor::run(const unit& u) {
  unit_result out;
  exec("SAVEPOINT unit");
  try {
    for (std::size_t i = 0; i < u.statements.size(); ++i) {
      const auto& s = u.statements[i];
      rowset rs;
      try {
        rs = step_all(prepare(s.sql), s, out.results);
      } catch (const db_error& e) {
        if ((e.code() & 0xFF) == SQLITE_CONSTRAINT) {
          exec("ROLLBACK TO unit");
          exec("RELEASE unit");
          return unit_result{false,
                             static_cast<std::int32_t>(i),
                             s.fail_code.empty() ? "constraint" : s.fail_code,
                             {}};
        }
        throw;
      }
      auto n = rs.columns.empty() ? rs.changes
                                  : static_cast<std::int64_t>(rs.rows.size());
      if ((s.min_rows >= 0 && n < s.min_rows)
          || (s.max_rows >= 0 && n > s.max_rows)) {
        exec("ROLLBACK TO unit");
        exec("RELEASE unit");
        return unit_result{false,
                           static_cast<std::int32_t>(i),
                           s.fail_code.empty() ? "precondition" : s.fail_code,
                           {}};
      }
      out.results.push_back(std::move(rs));
    }
    exec("RELEASE unit");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK TO unit", nullptr, nullptr, nullptr);
    sqlite3_exec(db_, "RELEASE unit", nullptr, nullptr, nullptr);
    throw;
  }
  return out;
}

void sqlite_executor::set_busy_timeout(int ms) {
  sqlite3_busy_timeout(db_, ms);
}

void sqlite_executor::begin() {
  exec("BEGIN IMMEDIATE");
  in_txn_ = true;
}

void sqlite_executor::commit() {
  in_txn_ = false;
  exec("COMMIT");
}

void sqlite_executor::rollback() {
  in_txn_ = false;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

} // namespace authsvc::db
