#pragma once
// Reading one case of the shared WebAuthn conformance vectors
// (/work/shared/webauthn-vectors, see its README) into the verifier's
// options and response: shared by the vectors test (every outcome) and the
// attestation-policy test (every accepted registration under each policy).
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "auth/encoding.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "auth/webauthn/registration.hpp"

namespace authsvc::auth::webauthn::testing {

inline const std::string vectors_dir
    = std::string{AUTHSVC_SHARED_DIR} + "/webauthn-vectors/";

/// "Now" for the few cases that pin no clock and carry no validity window
/// (2026-01-01T00:00:00Z). Fixed so the suites never read the clock.
constexpr std::int64_t vectors_present_day = 1767225600;

/// A file of the vectors folder, parsed.
inline nlohmann::json load_vector_file(const std::string& file) {
  std::ifstream in{vectors_dir + file};
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

/// A string or a list of strings, as a list.
inline std::vector<std::string> as_list(const nlohmann::json& value) {
  std::vector<std::string> out;
  if (value.is_string())
    out.push_back(value.get<std::string>());
  else if (value.is_array())
    for (const auto& v : value)
      out.push_back(v.get<std::string>());
  return out;
}

/// Base64url the case says is valid (the test fails when it is not).
inline bytes decode_b64url(const std::string& text) {
  auto out = base64url_decode(text);
  REQUIRE(out);
  return *out;
}

/// Negative cases use expected challenges such as "wrong-challenge" that
/// are not canonical base64url; their text bytes stand in and still
/// mismatch.
inline bytes expected_challenge(const std::string& text) {
  auto out = base64url_decode(text);
  return out ? *out : to_bytes(text);
}

/// The clock the README prescribes: the pinned time, else the start of the
/// window in which every x5c certificate is valid, else "now".
inline std::int64_t verify_time(const nlohmann::json& c) {
  if (c.contains("verify_time_unix"))
    return c["verify_time_unix"].get<std::int64_t>();
  if (c.contains("x5c_validity_overlap_unix"))
    return c["x5c_validity_overlap_unix"][0].get<std::int64_t>();
  return vectors_present_day;
}

/// `c.options[key]`, or `fallback`.
inline nlohmann::json option(const nlohmann::json& c, const char* key,
                             nlohmann::json fallback) {
  if (c.contains("options") && c["options"].contains(key))
    return c["options"][key];
  return fallback;
}

/// The ceremony checks a case asks for (registration and sign-in alike).
inline void fill_policy(ceremony_policy& p, const nlohmann::json& c) {
  p.expected_challenge
      = expected_challenge(c["expected_challenge_b64url"].get<std::string>());
  p.rp_ids = as_list(c["rp_id"]);
  p.origins = as_list(c["expected_origin"]);
  p.allow_cross_origin = option(c, "allow_cross_origin", false).get<bool>();
  p.top_origins
      = as_list(option(c, "expected_top_origins", nlohmann::json::array()));
  p.require_user_verification = c.value("require_user_verification", false);
  p.require_user_presence = c.value("require_user_presence", true);
  for (const auto& alg : option(c, "supported_algs", nlohmann::json::array()))
    p.allowed_algorithms.push_back(alg.get<int>());
  if (auto t = option(c, "expected_type", nullptr); t.is_string())
    p.expected_types.push_back(t.get<std::string>());
}

/// The registration options of a case; `roots` is trust_anchors.json's
/// "roots" object.
inline registration_options
registration_options_for(const nlohmann::json& c, const nlohmann::json& roots) {
  registration_options opts;
  fill_policy(opts, c);
  for (const auto& name :
       as_list(c.value("attestation_roots", nlohmann::json::array())))
    opts.attestation.trust_anchors.push_back(
        {name, roots.at(name).at("pem").get<std::string>()});
  opts.attestation.verify_time = verify_time(c);
  opts.attestation.safetynet_enforce_cts_profile
      = option(c, "safetynet_enforce_cts_check", true).get<bool>();
  opts.attestation.safetynet_check_timestamp
      = option(c, "safetynet_verify_timestamp", true).get<bool>();
  return opts;
}

/// The registration response of a case, as the JSON layer parses it (its
/// failure reason and detail when it refuses).
inline result<registration_response>
registration_response_for(const nlohmann::json& c, registration_options& opts) {
  if (option(c, "skip_raw_id_check", false).get<bool>()) {
    // These fixtures' id/rawId ("aaa", "bbb") are not even canonical
    // base64url, so the JSON layer rightly rejects them; feed the response
    // members directly and skip the rawId check as the case asks.
    const auto& r = c["response"]["response"];
    registration_response response;
    response.client_data_json
        = decode_b64url(r["clientDataJSON"].get<std::string>());
    response.attestation_object
        = decode_b64url(r["attestationObject"].get<std::string>());
    opts.require_raw_id_match = false;
    return response;
  }
  return parse_registration_credential(c["response"]);
}

} // namespace authsvc::auth::webauthn::testing
