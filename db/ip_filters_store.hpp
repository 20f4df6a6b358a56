#pragma once
// The ip_filters table: the admin API's rules (allow/deny per CIDR block),
// merged with the config's lists by the IP filter owner.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/result.hpp"
#include "db/value.hpp"

namespace authsvc::db::ip_filters_store {

/// A rule as the admin API shows it.
struct rule {
  std::string id;
  std::string cidr;
  std::string action; ///< "allow" or "deny"
  std::optional<std::string> reason;
  std::optional<std::string> created_by;
  std::int64_t created_at = 0;
};

/// What the IP filter owner needs of a rule.
struct rule_match {
  std::string cidr;
  std::string action;
};

// -- the IP filter owner ------------------------------------------------------

/// Reads the cidr and action of every rule, oldest first.
statement load_rules();

/// The rows of load_rules() (or of rule_match_of()).
std::vector<rule_match> decode_rules(const rowset& rs);

// -- admin --------------------------------------------------------------------

/// Reads every rule, oldest first.
statement list();

/// Reads one rule by id.
statement get(const std::string& id);

/// The rules of list() or get().
std::vector<rule> decode_list(const rowset& rs);

/// The rule of get(); store_errc::not_found when there is none.
result<rule> decode_one(const rowset& rs);

/// Reads the cidr and action of one rule (decode with decode_rules()).
statement rule_match_of(const std::string& id);

/// Adds a rule and returns it; a rule with the same cidr and action fails
/// the unit with "conflict".
unit create(const std::string& id, const std::string& cidr,
            const std::string& action, const std::string& reason,
            const std::string& created_by, std::int64_t now);

/// The rule create() added; store_errc::constraint when it existed already.
result<rule> decode_created(const unit_result& r);

/// Removes one rule and returns its cidr; fails with "not_found".
unit remove(const std::string& id);

/// The cidr of the rule remove() removed; store_errc::not_found when none.
result<std::string> decode_removed(const unit_result& r);

} // namespace authsvc::db::ip_filters_store
