#include "auth/webauthn/client_data.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "auth/crypto.hpp"

namespace authsvc::auth::webauthn {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

} // namespace

result<client_data> parse_client_data(const bytes& text) {
  using nlohmann::json;
  // Parse without exceptions: the input is attacker-controlled.
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return {errc::malformed_client_data, "clientDataJSON is not an object"};
  auto member = [&](const char* key) -> const std::string* {
    auto i = doc.find(key);
    if (i == doc.end() || !i->is_string())
      return nullptr;
    return i->get_ptr<const std::string*>();
  };
  auto* type = member("type");
  auto* challenge = member("challenge");
  auto* origin = member("origin");
  if (type == nullptr || challenge == nullptr || origin == nullptr)
    return {errc::malformed_client_data, "type/challenge/origin missing"};
  client_data out;
  out.type = *type;
  out.challenge = *challenge;
  out.origin = *origin;
  if (auto i = doc.find("crossOrigin"); i != doc.end() && !i->is_null()) {
    if (!i->is_boolean())
      return {errc::malformed_client_data, "crossOrigin is not a boolean"};
    out.cross_origin = i->get<bool>();
  }
  if (auto i = doc.find("topOrigin"); i != doc.end() && !i->is_null()) {
    if (!i->is_string())
      return {errc::malformed_client_data, "topOrigin is not a string"};
    out.top_origin = i->get<std::string>();
  }
  if (auto i = doc.find("tokenBinding"); i != doc.end() && i->is_object()) {
    out.has_token_binding = true;
    if (auto s = i->find("status"); s != i->end() && s->is_string())
      out.token_binding_status = s->get<std::string>();
  }
  return out;
}

status check_client_data(const client_data& data, const ceremony_policy& policy,
                         std::string_view default_type) {
  bool type_ok = policy.expected_types.empty()
                     ? data.type == default_type
                     : contains(policy.expected_types, data.type);
  if (!type_ok)
    return {errc::type_mismatch, "type " + data.type};
  // The issued challenge has one canonical base64url form; comparing that
  // form also rejects alternative spellings of the same bytes.
  if (policy.expected_challenge.empty()
      || !constant_time_equal(data.challenge,
                              base64url_encode(policy.expected_challenge)))
    return {errc::challenge_mismatch, "challenge differs"};
  if (!contains(policy.origins, data.origin))
    return {errc::origin_mismatch, "origin " + data.origin};
  if (data.cross_origin && !policy.allow_cross_origin)
    return {errc::cross_origin_not_allowed, "crossOrigin is true"};
  if (data.top_origin) {
    // A topOrigin only exists for cross-origin calls (§5.8.1).
    if (!policy.allow_cross_origin)
      return {errc::cross_origin_not_allowed, "topOrigin present"};
    if (!policy.top_origins.empty()
        && !contains(policy.top_origins, *data.top_origin))
      return {errc::top_origin_mismatch, "topOrigin " + *data.top_origin};
  }
  if (data.has_token_binding) {
    // Level 2 §7.1 step 10: status must be a known value. "not-supported"
    // was dropped from the enum, so it is rejected like any unknown value.
    const auto& st = data.token_binding_status;
    if (!st || (*st != "present" && *st != "supported"))
      return {errc::token_binding_invalid, "tokenBinding.status"};
  }
  return passed{};
}

} // namespace authsvc::auth::webauthn
