#pragma once
// The change listener (issue 14): with several nodes on one PostgreSQL, it
// LISTENs for what other nodes changed and wakes the session actor, which
// then reads the change table itself (cursor and all: it owns that state).
// Spawned by the session actor, linked to it, on its own thread (detached:
// connecting blocks), with its own connection (db/pg_listener). Not spawned
// on SQLite, where there is one node.
#include <string>

#include "actors/type_ids.hpp"

namespace authsvc {

/// What the listener tells the session actor: wake_atom = sessions changed
/// (read the change table); reload_atom = a signing key was added.
using change_sink = caf::typed_actor<caf::reacts_to<atom::wake_atom>,
                                     caf::reacts_to<atom::reload_atom>>;

/// tick_atom: internal poll timer.
using change_listener_actor = caf::typed_actor<caf::reacts_to<atom::tick_atom>>;

/// The channels the PostgreSQL migrations notify (migrations/postgres/
/// 0011_session_changes.sql).
inline constexpr const char* session_changes_channel = "pa_session_changes";
inline constexpr const char* signing_keys_channel = "pa_signing_keys";

struct change_listener_options {
  std::string url;
  /// Between two reads of the socket (no server round trip).
  int poll_ms = 20;
  /// Between two connection attempts while the server is away.
  int reconnect_ms = 500;
};

change_listener_actor::behavior_type
change_listener_impl(change_listener_actor::pointer self,
                     const change_listener_options& opts,
                     const change_sink& sink);

} // namespace authsvc
