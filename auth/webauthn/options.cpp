#include "auth/webauthn/options.hpp"

#include <nlohmann/json.hpp>

namespace authsvc::auth::webauthn {

namespace {

using nlohmann::json;

json descriptors(const std::vector<credential_descriptor>& list) {
  json out = json::array();
  for (const auto& d : list) {
    json entry{{"type", "public-key"}, {"id", base64url_encode(d.id)}};
    if (!d.transports.empty())
      entry["transports"] = d.transports;
    out.push_back(std::move(entry));
  }
  return out;
}

} // namespace

json make_creation_options(const creation_options_params& p) {
  json params = json::array();
  for (int alg : p.algorithms)
    params.push_back({{"type", "public-key"}, {"alg", alg}});
  json selection{{"residentKey", p.resident_key},
                 {"requireResidentKey", p.resident_key == "required"},
                 {"userVerification", p.user_verification}};
  if (!p.authenticator_attachment.empty())
    selection["authenticatorAttachment"] = p.authenticator_attachment;
  return json{
      {"rp", {{"id", p.rp_id}, {"name", p.rp_name}}},
      {"user",
       {{"id", base64url_encode(p.user_id)},
        {"name", p.user_name},
        {"displayName", p.user_display_name}}},
      {"challenge", base64url_encode(p.challenge)},
      {"pubKeyCredParams", std::move(params)},
      {"timeout", p.timeout_ms},
      {"excludeCredentials", descriptors(p.exclude_credentials)},
      {"authenticatorSelection", std::move(selection)},
      {"attestation", p.attestation},
      {"extensions", {{"credProps", true}}},
  };
}

json make_request_options(const request_options_params& p) {
  return json{
      {"challenge", base64url_encode(p.challenge)},
      {"rpId", p.rp_id},
      {"timeout", p.timeout_ms},
      {"userVerification", p.user_verification},
      {"allowCredentials", descriptors(p.allow_credentials)},
  };
}

} // namespace authsvc::auth::webauthn
