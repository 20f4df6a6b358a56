#pragma once
// The CAF API actor: the one actor the service publishes over CAF's
// network layer (include/passwordless/auth_api.hpp). It translates each
// call into messages for the owning actors, limits calls per remote node
// (GCRA), audits them as `caf.<operation>`, and relays the audit stream to
// remote subscribers through bounded per-subscriber buffers.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <passwordless/auth_api.hpp>

#include "actors/services.hpp"
#include "core/caf_peer_registry.hpp"
#include "auth/rate_limiter.hpp"

namespace authsvc {

using caf_api_actor = passwordless::api::auth_service;

namespace defaults {

/// Audit events sent to one subscriber and not yet acknowledged.
constexpr std::size_t caf_subscriber_window = 64;

/// Audit events buffered per subscriber beyond the window; past that the
/// oldest are dropped (and reported in the next event's dropped_before).
constexpr std::size_t caf_subscriber_buffer = 1024;

/// Remote subscribers at once.
constexpr std::size_t caf_max_subscribers = 64;

} // namespace defaults

struct caf_api_options {
  /// Calls per remote node; nullopt = unlimited.
  std::optional<auth::rate_policy> rate;
  std::size_t subscriber_window = defaults::caf_subscriber_window;
  std::size_t subscriber_buffer = defaults::caf_subscriber_buffer;
  std::size_t max_subscribers = defaults::caf_max_subscribers;
  /// Certificate identities of the connected nodes (filled by the gate in
  /// front of the CAF port); null or unbound = name the caller by node.
  std::shared_ptr<const caf_peer_registry> peers;
};

/// Relays audit events to one remote sink (local to the API actor).
struct audit_relay_state {
  static inline const char* name = "authsvc.caf-audit-relay";
  passwordless::api::audit_sink sink;
  std::deque<passwordless::api::audit_record> buffer;
  std::size_t in_flight = 0;
  std::int64_t dropped = 0;
  caf_api_options opts;
};

struct caf_api_state {
  static inline const char* name = "authsvc.caf-api";
  services svc;
  caf_api_options opts;
  std::optional<auth::rate_limiter> limiter;
  /// Nodes refused since their last allowed call (audited once per streak).
  std::unordered_map<std::string, bool> refused;
  /// Sink address -> its relay.
  std::unordered_map<caf::actor_addr, audit_subscriber> relays;
};

caf_api_actor::behavior_type
caf_api_impl(caf_api_actor::stateful_pointer<caf_api_state> self, services svc,
             caf_api_options opts);

} // namespace authsvc
