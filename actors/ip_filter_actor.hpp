#pragma once
// The IP filter owner: merges the `[server] ip_allow`/`ip_deny` rules with
// the `ip_filters` table and pushes the merged snapshot to every front actor,
// which match requests against their own copy (no database read per
// request). The table is read at start, on `reload_atom` (the admin API sends
// it after a change) and every `server.ip_filter_refresh` seconds (so rules
// changed by another instance or by hand are picked up too).
#include <memory>
#include <vector>

#include "actors/db_actor.hpp"
#include "actors/type_ids.hpp"
#include "core/config.hpp"
#include "db/ip_filters_store.hpp"

namespace authsvc {

/// What a front actor accepts from the IP filter owner.
using ip_rules_sink = caf::typed_actor<caf::reacts_to<ip_rules_snapshot>>;

using ip_filter_actor = caf::typed_actor<
    /// Reloads the table now and pushes the result to every front before it
    /// answers; answers the number of rules read from the table.
    caf::replies_to<atom::reload_atom>::with<std::int32_t>,
    /// Registers a front actor; it receives the current snapshot at once.
    caf::reacts_to<atom::subscribe_atom, ip_rules_sink>,
    /// Internal: periodic refresh (and retries until the database is ready).
    caf::reacts_to<atom::tick_atom>>;

struct ip_filter_state {
  static inline const char* name = "authsvc.ip-filter";
  std::shared_ptr<const config::settings> cfg;
  db_actor db;
  std::vector<ip_rules_sink> fronts;
  /// The snapshot last pushed (config rules until the table was read).
  ip_rules_snapshot current;
  bool loaded = false;
};

/// Merges config lists with the table's rules; rules that do not parse as
/// CIDR (or name no known action) are skipped and named in `skipped`.
ip_rules_snapshot
merge_ip_rules(const config::settings& cfg,
               const std::vector<db::ip_filters_store::rule_match>& rules,
               std::vector<std::string>* skipped);

ip_filter_actor::behavior_type
ip_filter_impl(ip_filter_actor::stateful_pointer<ip_filter_state> self,
               const std::shared_ptr<const config::settings>& cfg, db_actor db);

} // namespace authsvc
