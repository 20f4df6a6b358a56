#pragma once
// A PostgreSQL connection that only LISTENs (issue 14): the fan-out half of
// "every node sees every change". A plain object (no CAF, no threads): its
// owner (actors/change_listener) calls poll() on a short timer. NOTIFY
// payloads wait in the connection's socket until then; poll() reads what
// is there without waiting (libpq keeps its sockets non-blocking and
// PQconsumeInput only takes what has arrived), so a quiet channel costs one
// read system call per poll and no round trip to the server.
//
// Its own connection, not the DB actor's: a notification is delivered to a
// connection between transactions, and the DB actor's is busy with group
// commits; and a listener must not lose its LISTEN when the DB actor
// reconnects after a failure.
#include <set>
#include <string>
#include <vector>

struct pg_conn;

namespace authsvc::db {

class pg_listener {
public:
  /// `url` as database.url; `channels` to LISTEN on after every connect.
  pg_listener(std::string url, std::vector<std::string> channels);
  ~pg_listener();
  pg_listener(const pg_listener&) = delete;
  pg_listener& operator=(const pg_listener&) = delete;

  /// True while connected and listening.
  bool connected() const;

  /// Connects and LISTENs when not connected (blocking up to the connect
  /// timeout). @returns true when it connected now: whatever was notified
  /// while it was away is lost, so the owner catches up by reading.
  bool ensure_connected();

  /// The channels notified since the last poll (each once). A lost
  /// connection is dropped (connected() turns false) and reported by
  /// `lost`.
  std::set<std::string> poll(bool& lost);

private:
  void drop();

  std::string url_;
  std::vector<std::string> channels_;
  pg_conn* conn_ = nullptr;
};

} // namespace authsvc::db
