#include "db/pg_executor.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include <libpq-fe.h>

#include "auth/crypto.hpp"
#include "db/pg_dialect.hpp"

namespace authsvc::db {

namespace {

// Type OIDs from PostgreSQL's pg_type.dat (stable across versions).
constexpr Oid bool_oid = 16;
constexpr Oid bytea_oid = 17;
constexpr Oid int8_oid = 20;
constexpr Oid int2_oid = 21;
constexpr Oid int4_oid = 23;
constexpr Oid oid_oid = 26;
constexpr Oid float4_oid = 700;
constexpr Oid float8_oid = 701;
constexpr Oid numeric_oid = 1700;

struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

failure classify(const char* sqlstate, PGconn* conn) {
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD)
    return failure::transient;
  if (sqlstate == nullptr)
    return failure::other;
  std::string s = sqlstate;
  if (s == "40001" || s == "40P01" || s.rfind("08", 0) == 0 || s == "57P01"
      || s == "57P02" || s == "57P03")
    return failure::transient;
  if (s.rfind("23", 0) == 0)
    return failure::constraint;
  if (s == "53100")
    return failure::full;
  if (s == "58030")
    return failure::io;
  if (s == "55P03")
    return failure::busy;
  return failure::other;
}

value decode(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col))
    return value::null();
  const char* p = PQgetvalue(r, row, col);
  auto n = static_cast<std::size_t>(PQgetlength(r, row, col));
  switch (PQftype(r, col)) {
  case int8_oid:
  case int4_oid:
  case int2_oid:
  case oid_oid:
    return value::integer(std::strtoll(p, nullptr, 10));
  case bool_oid:
    return value::integer(p[0] == 't' ? 1 : 0);
  case float4_oid:
  case float8_oid:
    return value::real(std::strtod(p, nullptr));
  case numeric_oid: // SUM() of bigints: integral unless it has a point
    if (std::strchr(p, '.') == nullptr)
      return value::integer(std::strtoll(p, nullptr, 10));
    return value::real(std::strtod(p, nullptr));
  case bytea_oid: {
    std::size_t len = 0;
    auto* raw
        = PQunescapeBytea(reinterpret_cast<const unsigned char*>(p), &len);
    if (raw == nullptr)
      throw db_error(failure::other, "", "cannot decode a bytea column");
    std::string bytes(reinterpret_cast<const char*>(raw), len);
    PQfreemem(raw);
    return value::blob(std::move(bytes));
  }
  default:
    return value::text(std::string(p, n));
  }
}

} // namespace

pg_executor::pg_executor(pg_options opts) : opts_(std::move(opts)) {
  connect();
}

pg_executor::~pg_executor() {
  if (conn_ != nullptr) {
    if (in_txn_)
      exec_quiet("ROLLBACK");
    PQfinish(conn_);
  }
}

void pg_executor::connect() {
  if (conn_ != nullptr)
    PQfinish(conn_);
  cache_.clear(); // prepared statements live and die with the connection
  std::string options;
  if (!opts_.search_path.empty())
    options = "-c search_path=" + opts_.search_path;
  auto timeout = std::to_string(opts_.connect_timeout_s);
  // expand_dbname = 1: "dbname" may be a whole URI; the keywords after it
  // add to (never replace) what the URI says.
  const char* keys[] = {"dbname", "connect_timeout", "application_name",
                        options.empty() ? nullptr : "options", nullptr};
  const char* vals[] = {opts_.url.c_str(), timeout.c_str(), "passwordless-auth",
                        options.empty() ? nullptr : options.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
    if (conn_ != nullptr)
      PQfinish(conn_);
    conn_ = nullptr;
    // libpq's message names host and port, never the password.
    throw db_error(failure::transient, "",
                   "cannot connect to PostgreSQL: " + msg);
  }
  in_txn_ = false;
  // Server notices ("schema does not exist, skipping", ...) are not errors;
  // libpq would print them to stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  // Integer timestamps and text everywhere: no session setting changes what
  // we read, but pin the ones that could.
  exec("SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
       "SET TIME ZONE 'UTC'");
  if (lock_timeout_ms_ > 0)
    set_busy_timeout(lock_timeout_ms_);
}

void pg_executor::ensure_connected() {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK)
    connect();
}

void pg_executor::fail(PGresult* res, const std::string& what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = res ? PQresultErrorMessage(res) : "";
  if (msg.empty() && conn_ != nullptr)
    msg = PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
    msg.pop_back();
  auto kind = classify(state, conn_);
  std::string code = state ? state : "";
  if (res)
    PQclear(res);
  throw db_error(kind, code, what + ": " + msg);
}

void pg_executor::exec_quiet(const char* sql) noexcept {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK)
    PQclear(PQexec(conn_, sql));
}

void pg_executor::exec(const std::string& sql) {
  if (conn_ == nullptr)
    ensure_connected();
  PGresult* r = PQexec(conn_, sql.c_str());
  auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    fail(r, "statement failed");
  PQclear(r);
}

void pg_executor::set_busy_timeout(int ms) {
  // Never throws: the DB actor calls it while handling a failure; a lost
  // connection gets the setting again when it reconnects.
  lock_timeout_ms_ = ms < 0 ? 0 : ms;
  exec_quiet(
      ("SET lock_timeout = " + std::to_string(lock_timeout_ms_)).c_str());
}

template <class F>
auto pg_executor::with_retries(F work) -> decltype(work()) {
  int wait_ms = opts_.retry_base_ms;
  for (int attempt = 0;; ++attempt) {
    try {
      if (!in_txn_)
        ensure_connected();
      return work();
    } catch (const db_error& e) {
      if (!e.transient() || in_txn_ || attempt >= opts_.retries)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms *= 4;
  }
}

rowset pg_executor::execute(const statement& s,
                            const std::vector<rowset>& earlier) {
  std::vector<const value*> params;
  params.reserve(s.params.size());
  int wanted = 0;
  const std::string& text = s.postgres_sql.empty() ? s.sql : s.postgres_sql;
  std::string key = to_postgres(text, &wanted);
  // Checked here: the server would answer a count mismatch with a protocol
  // error (class 08), which reads as a lost connection.
  if (wanted != static_cast<int>(s.params.size()))
    throw db_error(failure::other, "",
                   "statement wants " + std::to_string(wanted)
                       + " parameters, got " + std::to_string(s.params.size())
                       + ": " + text);
  key += '\0';
  for (const auto& p : s.params) {
    const value* v = &p;
    if (v->kind == value::ref_v) {
      auto idx = static_cast<std::size_t>(v->i);
      if (idx >= earlier.size() || earlier[idx].empty())
        throw db_error(failure::other, "",
                       "reference to a statement with no row");
      v = &earlier[idx].at(0, v->s);
    }
    params.push_back(v);
    key += static_cast<char>('0' + v->kind);
  }
  // Integers, reals and blobs are typed; text and NULL are left to the
  // server to infer from the context (a text value may fill a BIGINT or
  // BYTEA column in SQLite's loose typing, and NULL fits everything).
  std::vector<Oid> types;
  std::vector<std::string> texts(params.size());
  std::vector<const char*> vals(params.size());
  std::vector<int> lens(params.size());
  std::vector<int> formats(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const value& v = *params[i];
    Oid t = 0;
    switch (v.kind) {
    case value::int_v:
      t = int8_oid;
      texts[i] = std::to_string(v.i);
      break;
    case value::real_v: {
      t = float8_oid;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.d);
      texts[i] = buf;
      break;
    }
    case value::blob_v:
      t = bytea_oid;
      formats[i] = 1;
      break;
    default:
      break;
    }
    types.push_back(t);
    if (v.kind == value::null_v) {
      vals[i] = nullptr;
    } else if (v.kind == value::text_v || v.kind == value::blob_v) {
      vals[i] = v.s.data();
      lens[i] = static_cast<int>(v.s.size());
    } else {
      vals[i] = texts[i].c_str();
      lens[i] = static_cast<int>(texts[i].size());
    }
  }
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    prepared p{"pa_" + std::to_string(next_name_++)};
    auto sql = key.substr(0, key.find('\0'));
    PGresult* r = PQprepare(conn_, p.name.c_str(), sql.c_str(),
                            static_cast<int>(types.size()), types.data());
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK)
      fail(r, "prepare failed for: " + text);
    PQclear(r);
    it = cache_.emplace(std::move(key), std::move(p)).first;
  }
  result_ptr r{PQexecPrepared(conn_, it->second.name.c_str(),
                              static_cast<int>(vals.size()), vals.data(),
                              lens.data(), formats.data(), 0)};
  auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    auto* raw = r.release();
    // A statement the server no longer knows (e.g. after a failover that
    // kept the socket) is prepared again on the next try.
    cache_.erase(it);
    fail(raw, "statement failed: " + text);
  }
  rowset out;
  int ncols = PQnfields(r.get());
  for (int c = 0; c < ncols; ++c)
    out.columns.emplace_back(PQfname(r.get(), c));
  int nrows = PQntuples(r.get());
  out.rows.reserve(static_cast<std::size_t>(nrows));
  for (int row = 0; row < nrows; ++row) {
    std::vector<value> vs;
    vs.reserve(static_cast<std::size_t>(ncols));
    for (int c = 0; c < ncols; ++c)
      vs.push_back(decode(r.get(), row, c));
    out.rows.push_back(std::move(vs));
  }
  if (ncols == 0) {
    const char* n = PQcmdTuples(r.get());
    out.changes = (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
  }
  return out;
}

rowset pg_executor::query(const statement& s) {
  return with_retries([&] { return execute(s, {}); });
}

unit_result pg_executor::run_once(const unit& u) {
  bool own_txn = !in_txn_;
  if (own_txn)
    exec("BEGIN");
  // A savepoint even inside our own transaction: a failed unit must leave
  // the group's other units in place.
  exec("SAVEPOINT unit");
  auto undo = [&] {
    exec("ROLLBACK TO SAVEPOINT unit");
    exec("RELEASE SAVEPOINT unit");
    if (own_txn)
      exec("COMMIT");
  };
  unit_result out;
  try {
    for (std::size_t i = 0; i < u.statements.size(); ++i) {
      const auto& s = u.statements[i];
      rowset rs;
      try {
        rs = execute(s, out.results);
      } catch (const db_error& e) {
        if (e.constraint()) {
          undo();
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
        undo();
        return unit_result{false,
                           static_cast<std::int32_t>(i),
                           s.fail_code.empty() ? "precondition" : s.fail_code,
                           {}};
      }
      out.results.push_back(std::move(rs));
    }
    exec("RELEASE SAVEPOINT unit");
    if (own_txn)
      exec("COMMIT");
  } catch (...) {
    if (own_txn) {
      exec_quiet("ROLLBACK");
    } else {
      exec_quiet("ROLLBACK TO SAVEPOINT unit");
      exec_quiet("RELEASE SAVEPOINT unit");
    }
    throw;
  }
  return out;
}

unit_result pg_executor::run(const unit& u) {
  return with_retries([&] { return run_once(u); });
}

void pg_executor::begin() {
  ensure_connected();
  exec("BEGIN");
  in_txn_ = true;
}

void pg_executor::commit() {
  in_txn_ = false;
  exec("COMMIT");
}

void pg_executor::rollback() {
  in_txn_ = false;
  exec_quiet("ROLLBACK");
}

std::vector<int> pg_executor::migrate(const std::vector<migration>& all) {
  ensure_connected();
  // A session-level advisory lock, held across all migrations: a second
  // node starting at the same time waits here, then finds them applied.
  exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
  std::vector<int> applied;
  try {
    exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
         " version BIGINT PRIMARY KEY,"
         " name TEXT NOT NULL,"
         " checksum TEXT NOT NULL,"
         " applied_at BIGINT NOT NULL)");
    for (const auto& m : all) {
      auto checksum = auth::token_hash(m.sql);
      auto done = execute(stmt("SELECT checksum FROM schema_migrations "
                               "WHERE version = ?",
                               {value::integer(m.version)}),
                          {});
      if (!done.empty()) {
        if (done.rows[0][0].s != checksum)
          throw db_error(failure::other, "",
                         "migration " + m.name
                             + " was changed after it was applied");
        continue;
      }
      exec("BEGIN");
      try {
        exec(m.sql);
        execute(stmt("INSERT INTO schema_migrations(version, name, checksum, "
                     "applied_at) VALUES (?, ?, ?, strftime('%s','now'))",
                     {value::integer(m.version), value::text(m.name),
                      value::text(checksum)}),
                {});
        exec("COMMIT");
      } catch (...) {
        exec_quiet("ROLLBACK");
        throw;
      }
      applied.push_back(m.version);
    }
  } catch (...) {
    exec_quiet(("SELECT pg_advisory_unlock("
                + std::to_string(migration_lock_key) + ")")
                   .c_str());
    throw;
  }
  exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
  return applied;
}

int pg_executor::schema_version() {
  auto r = query(stmt("SELECT COALESCE(MAX(version), 0) AS v FROM "
                      "schema_migrations"));
  return r.empty() ? 0 : static_cast<int>(r.rows[0][0].i);
}

} // namespace authsvc::db
