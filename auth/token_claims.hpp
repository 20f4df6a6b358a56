#pragma once
// Custom access-token claims (issue 17): the operator maps claim names to
// paths in a user's app_metadata (`role = "app_metadata.role"`), and every
// access token minted carries the values found there. Pure functions: the
// check of a mapping (at start, so a bad one stops the service), and the
// resolution of the mappings against one app_metadata document (at mint).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace authsvc::auth {

/// One custom claim: its name in the token and where its value lives.
struct claim_mapping {
  std::string name;
  /// The members to follow from the app_metadata object, outermost first
  /// (`app_metadata.org.id` -> {"org", "id"}).
  std::vector<std::string> path;
};

using claim_mappings = std::vector<claim_mapping>;

/// The prefix every path starts with: only app_metadata feeds claims (the
/// user edits user_metadata, so it must never reach a token).
constexpr std::string_view claim_source_prefix = "app_metadata.";

/// Whether `name` is a claim the service sets or a verifier interprets:
/// the registered JWT claims (RFC 7519 4.1), what our access tokens carry,
/// and the protocol claims of OAuth/OIDC tokens. Compared ignoring ASCII
/// case, so `Sub` cannot pose as `sub` to a lenient verifier.
bool is_reserved_claim(std::string_view name);

/// Every reserved name, lower case (for messages and documentation).
const std::vector<std::string_view>& reserved_claims();

/// Checks one mapping: a name of 1-128 printable ASCII characters without
/// space, `,`, `=`, `"` or `\` that is not reserved, and a path
/// `app_metadata.<member>[.<member>...]` (at most 16 members of
/// [A-Za-z0-9_-]). @returns why it is refused, or nullopt when it is fine.
std::optional<std::string> check_claim_mapping(std::string_view name,
                                               std::string_view path);

/// The mappings of `table` (claim name -> path) that check_claim_mapping
/// accepts, in name order.
claim_mappings
parse_claim_mappings(const std::map<std::string, std::string>& table);

/// The custom claims for a user whose app_metadata is `app_metadata` (JSON
/// object text): each mapping whose path resolves, with its JSON value as it
/// is (string, number, boolean, array, object or null). A path that does not
/// resolve (a member missing, or a step into something that is not an
/// object), or a document that is not a JSON object, adds nothing.
nlohmann::json resolve_claims(const claim_mappings& mappings,
                              std::string_view app_metadata);

/// Adds `custom` to the token claims `claims`, never replacing one that is
/// already there (the reserved check keeps them apart; this is the second
/// line).
void merge_custom_claims(nlohmann::json& claims, const nlohmann::json& custom);

} // namespace authsvc::auth
