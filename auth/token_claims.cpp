#include "auth/token_claims.hpp"

#include <algorithm>

#include "auth/text.hpp"

namespace authsvc::auth {

namespace {

constexpr std::size_t max_name_length = 128;
constexpr std::size_t max_path_members = 16;

bool is_member_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// Splits "a.b.c" into its members; nullopt when one is empty or holds a
/// character outside [A-Za-z0-9_-].
std::optional<std::vector<std::string>> members_of(std::string_view rest) {
  std::vector<std::string> out;
  while (true) {
    auto dot = rest.find('.');
    auto member = rest.substr(0, dot);
    if (member.empty()
        || !std::all_of(member.begin(), member.end(), is_member_char))
      return std::nullopt;
    out.emplace_back(member);
    if (dot == std::string_view::npos)
      return out;
    rest.remove_prefix(dot + 1);
  }
}

/// The value at `path` below `doc`, or nullptr unless every member is
/// there and each step before the last is an object.
const nlohmann::json* find_member(const nlohmann::json& doc,
                                  const std::vector<std::string>& path) {
  const nlohmann::json* at = &doc;
  for (const auto& member : path) {
    if (!at->is_object())
      return nullptr;
    auto it = at->find(member);
    if (it == at->end())
      return nullptr;
    at = &*it;
  }
  return at;
}

} // namespace

const std::vector<std::string_view>& reserved_claims() {
  static const std::vector<std::string_view> names = {
      // RFC 7519 4.1, registered claims.
      "iss", "sub", "aud", "exp", "nbf", "iat", "jti",
      // What our access tokens carry besides (docs api.md, jws.hpp).
      "sid", "amr", "auth_time",
      // OAuth 2.0 / OIDC protocol claims a verifier acts on (RFC 8693,
      // RFC 9068, RFC 7800, OIDC Core 2), and the address claims the ID
      // tokens of the coming OIDC provider will carry.
      "scope", "scp", "client_id", "azp", "acr", "nonce", "at_hash", "c_hash",
      "s_hash", "cnf", "act", "may_act", "email", "email_verified"};
  return names;
}

bool is_reserved_claim(std::string_view name) {
  auto lower = ascii_lower(name);
  const auto& names = reserved_claims();
  return std::find(names.begin(), names.end(), lower) != names.end();
}

std::optional<std::string> check_claim_mapping(std::string_view name,
                                               std::string_view path) {
  if (name.empty() || name.size() > max_name_length)
    return "a claim name has 1 to 128 characters";
  for (char c : name)
    if (c <= ' ' || c > '~' || c == ',' || c == '=' || c == '"' || c == '\\')
      return "a claim name is printable ASCII without spaces, ',', '=', '\"' "
             "or '\\'";
  if (is_reserved_claim(name))
    return "'" + std::string(name)
           + "' is a reserved claim (the service sets it, or token verifiers "
             "interpret it); choose another name";
  auto bad_path = "'" + std::string(path)
                  + "' is not a path into app_metadata: expected "
                    "app_metadata.<member>[.<member>...] with members of "
                    "letters, digits, '_' and '-'";
  if (path.substr(0, claim_source_prefix.size()) != claim_source_prefix)
    return bad_path;
  auto members = members_of(path.substr(claim_source_prefix.size()));
  if (!members)
    return bad_path;
  if (members->size() > max_path_members)
    return "a path has at most 16 members below app_metadata";
  return std::nullopt;
}

claim_mappings
parse_claim_mappings(const std::map<std::string, std::string>& table) {
  claim_mappings out;
  for (const auto& [name, path] : table) {
    if (check_claim_mapping(name, path))
      continue;
    out.push_back({name, *members_of(std::string_view(path).substr(
                             claim_source_prefix.size()))});
  }
  return out;
}

nlohmann::json resolve_claims(const claim_mappings& mappings,
                              std::string_view app_metadata) {
  auto out = nlohmann::json::object();
  if (mappings.empty())
    return out;
  auto doc = nlohmann::json::parse(app_metadata, nullptr, false);
  if (!doc.is_object())
    return out;
  for (const auto& m : mappings)
    if (auto value = find_member(doc, m.path))
      out[m.name] = *value;
  return out;
}

void merge_custom_claims(nlohmann::json& claims, const nlohmann::json& custom) {
  if (!claims.is_object() || !custom.is_object())
    return;
  for (const auto& [name, value] : custom.items())
    if (!claims.contains(name) && !is_reserved_claim(name))
      claims[name] = value;
}

} // namespace authsvc::auth
