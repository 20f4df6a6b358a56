#include "db/pg_listener.hpp"

#include <libpq-fe.h>

namespace authsvc::db {

pg_listener::pg_listener(std::string url, std::vector<std::string> channels)
    : url_(std::move(url)), channels_(std::move(channels)) {}

pg_listener::~pg_listener() {
  drop();
}

bool pg_listener::connected() const {
  return conn_ != nullptr;
}

void pg_listener::drop() {
  if (conn_ != nullptr)
    PQfinish(conn_);
  conn_ = nullptr;
}

bool pg_listener::ensure_connected() {
  if (conn_ != nullptr)
    return false;
  // expand_dbname = 1: "dbname" may be a whole URI, as in pg_executor.
  const char* keys[]
      = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* vals[]
      = {url_.c_str(), "2", "passwordless-auth-listener", nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    drop();
    return false;
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  for (const auto& ch : channels_) {
    // Channel names are ours (fixed identifiers), never user input.
    auto* res = PQexec(conn_, ("LISTEN " + ch).c_str());
    bool ok = res != nullptr && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
      drop();
      return false;
    }
  }
  return true;
}

std::set<std::string> pg_listener::poll(bool& lost) {
  std::set<std::string> out;
  lost = false;
  if (conn_ == nullptr)
    return out;
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    drop();
    lost = true;
    return out;
  }
  while (auto* n = PQnotifies(conn_)) {
    out.insert(n->relname);
    PQfreemem(n);
  }
  return out;
}

} // namespace authsvc::db
