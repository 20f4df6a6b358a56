#pragma once
// The supervisor monitors every top-level actor and decides, per actor, what
// its death means (docs/reliability.md, "Supervision"):
// - restart: a fresh actor takes its place with its state reloaded from the
//   database (sessions, keys, mail and webhook queues, IP rules) or started
//   empty (rate limits); fronts that hold its handle get a new services
//   snapshot (they are stateless and are spawned anew), so no handle in the
//   process keeps pointing at a dead actor;
// - exit: the actor is held where no snapshot can follow it (the database,
//   metrics and audit owners are in every other actor; the CAF API is
//   published on a port), so the process stops with a clear log line and a
//   non-zero status and its service manager starts it again.
// A child that dies more than `max_restarts` times in `restart_window`
// seconds is treated as an exit: a crash loop is not a service.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/services.hpp"
#include "actors/supervisor_handle.hpp"

namespace authsvc {

enum class on_death : std::uint8_t {
  restart,      ///< spawn again (state from the DB, or empty)
  exit_process, ///< log, stop the HTTP server, exit non-zero
};

/// One top-level actor.
struct child_spec {
  /// As /health names it ("database", "sessions", "mailer", ...).
  std::string name;
  on_death policy = on_death::exit_process;
  /// For restart: spawns the actor again, stores its handle in the snapshot
  /// and returns its address.
  std::function<caf::actor_addr(services&)> respawn;
  /// The HTTP fronts hold this handle (in their services): a restart spawns
  /// them anew with the new snapshot.
  bool held_by_fronts = false;
  /// The running actor at the supervisor's start.
  caf::actor_addr addr;
};

struct supervisor_options {
  std::vector<child_spec> children;
  /// How many HTTP fronts the supervisor spawns at its start.
  std::size_t front_count = 1;
  /// Spawns a front with `svc` into the server's slot `i` (main swaps the
  /// handle the HTTP dispatcher uses) and returns its address.
  std::function<caf::actor_addr(const services&, std::size_t)> spawn_front;
  /// Called once when a child with on_death::exit_process dies (or one
  /// restarts too often): main stops serving and exits non-zero.
  std::function<void(const std::string& name, const std::string& reason)> fatal;
  /// Called after every restart with the new snapshot (main reads the
  /// current handles at shutdown from it).
  std::function<void(const services&)> published;
  std::int32_t max_restarts = 5;
  std::int64_t restart_window = 60; ///< seconds
};

struct supervisor_state {
  static inline const char* name = "authsvc.supervisor";
  struct child {
    child_spec spec;
    supervised_child status;
    std::vector<std::int64_t> deaths; ///< steady seconds, in the window
  };
  supervisor_options opts;
  services svc;
  std::vector<child> children;
  supervised_child fronts_status;
  std::vector<caf::actor_addr> fronts;
  bool exiting = false;

  /// The report /health shows (fronts as one entry, "http_fronts").
  supervision_report report() const;
};

/// `svc` is the snapshot the children were spawned with; the supervisor
/// adds itself to it, spawns the fronts with it, and keeps it current
/// across restarts.
supervisor_actor::behavior_type
supervisor_impl(supervisor_actor::stateful_pointer<supervisor_state> self,
                services svc, supervisor_options opts);

} // namespace authsvc
