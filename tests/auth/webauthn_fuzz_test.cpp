// Fuzz-style robustness: every prefix and thousands of bit flips of real
// attestation objects, authenticator data, clientDataJSON, signatures and
// stored keys from the shared vectors must end in a clean failure (or, for
// flips nothing signs, a clean success), never a crash. Run it under
// -DAUTHSVC_SANITIZERS=address,undefined to catch silent memory errors.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "auth/webauthn/assertion.hpp"
#include "auth/webauthn/cose_key.hpp"
#include "auth/webauthn/registration.hpp"
#include "webauthn_test_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using namespace authsvc::auth::webauthn::testing;
using nlohmann::json;

namespace {

std::vector<std::string> as_list(const json& v) {
  std::vector<std::string> out;
  if (v.is_string())
    out.push_back(v.get<std::string>());
  else if (v.is_array())
    for (const auto& s : v)
      out.push_back(s.get<std::string>());
  return out;
}

template <class Options>
Options policy_of(const json& c) {
  Options o;
  auto challenge
      = base64url_decode(c["expected_challenge_b64url"].get<std::string>());
  o.expected_challenge = challenge ? *challenge : bytes{1};
  o.rp_ids = as_list(c["rp_id"]);
  o.origins = as_list(c["expected_origin"]);
  o.require_user_presence = c.value("require_user_presence", true);
  o.allow_cross_origin = true;
  return o;
}

struct reg_input {
  std::string name;
  registration_response response;
  registration_options options;
};

struct auth_input {
  std::string name;
  assertion_response response;
  assertion_options options;
};

struct corpus {
  std::vector<reg_input> registrations;
  std::vector<auth_input> assertions;
};

const corpus& load_corpus() {
  static const corpus instance = [] {
    corpus out;
    auto roots = load_vectors("trust_anchors.json")["roots"];
    for (const char* file :
         {"py_webauthn.json", "simplewebauthn.json", "go_webauthn.json"}) {
      auto doc = load_vectors(file);
      for (const auto& c : doc["cases"]) {
        const auto& r = c["response"]["response"];
        if (c["kind"] == "registration") {
          reg_input in{c["name"], {}, policy_of<registration_options>(c)};
          in.response.client_data_json = b64(r["clientDataJSON"]);
          in.response.attestation_object = b64(r["attestationObject"]);
          in.options.require_raw_id_match = false;
          in.options.attestation.verify_time
              = c.contains("verify_time_unix")
                    ? c["verify_time_unix"].get<std::int64_t>()
                : c.contains("x5c_validity_overlap_unix")
                    ? c["x5c_validity_overlap_unix"][0].get<std::int64_t>()
                    : 1767225600;
          auto opts = c.value("options", json::object());
          in.options.attestation.safetynet_check_timestamp
              = opts.value("safetynet_verify_timestamp", true);
          in.options.attestation.safetynet_enforce_cts_profile
              = opts.value("safetynet_enforce_cts_check", true);
          for (const auto& name :
               as_list(c.value("attestation_roots", json::array())))
            in.options.attestation.trust_anchors.push_back(
                {name, roots[name]["pem"].get<std::string>()});
          out.registrations.push_back(std::move(in));
        } else {
          auth_input in{c["name"], {}, policy_of<assertion_options>(c)};
          in.response.client_data_json = b64(r["clientDataJSON"]);
          in.response.authenticator_data = b64(r["authenticatorData"]);
          in.response.signature = b64(r["signature"]);
          in.options.credential.public_key
              = b64(c["credential_public_key_b64url"]);
          in.options.reject_counter_regression = false;
          out.assertions.push_back(std::move(in));
        }
      }
    }
    return out;
  }();
  return instance;
}

// A clean outcome: success, or a failure with a named reason.
template <class Result>
bool clean(const Result& res) {
  if (res.ok())
    return true;
  auto reason = res.reason();
  return !reason.empty() && reason != "unknown";
}

bytes prefix(const bytes& b, std::size_t n) {
  return bytes(b.begin(), b.begin() + static_cast<long>(n));
}

// One registration per attestation format plus one assertion per key type.
const std::vector<std::string> prefix_registrations{
    "reg_verifies_none_attestation_response",
    "packed_yubikey_firefox",
    "fido_u2f_yubikey_firefox",
    "tpm_ecc_public_area",
    "android_key_pixel_8a",
    "android_safetynet_2021",
    "apple_passkey_2021"};
const std::vector<std::string> prefix_assertions{
    "auth_verify_authentication_response_with_EC2_public_key",
    "auth_verify_authentication_response_with_RSA_public_key",
    "auth_verify_authentication_response_with_OKP_public_key"};

} // namespace

TEST_CASE("every prefix of a registration is a clean failure",
          "[auth][webauthn][fuzz]") {
  std::size_t runs = 0;
  for (const auto& in : load_corpus().registrations) {
    if (std::find(prefix_registrations.begin(), prefix_registrations.end(),
                  in.name)
        == prefix_registrations.end())
      continue;
    INFO(in.name);
    REQUIRE(verify_registration(in.response, in.options).ok());
    const auto& ao = in.response.attestation_object;
    for (std::size_t n = 0; n < ao.size(); ++n) {
      auto r = in.response;
      r.attestation_object = prefix(ao, n);
      auto res = verify_registration(r, in.options);
      ++runs;
      if (res.ok() || !clean(res))
        FAIL_CHECK("attestationObject prefix " << n << ": " << res.reason());
    }
    const auto& cd = in.response.client_data_json;
    for (std::size_t n = 0; n < cd.size(); ++n) {
      auto r = in.response;
      r.client_data_json = prefix(cd, n);
      auto res = verify_registration(r, in.options);
      ++runs;
      if (res.ok() || !clean(res))
        FAIL_CHECK("clientDataJSON prefix " << n << ": " << res.reason());
    }
  }
  CHECK(runs > 10000);
}

TEST_CASE("every prefix of an assertion is a clean failure",
          "[auth][webauthn][fuzz]") {
  for (const auto& in : load_corpus().assertions) {
    if (std::find(prefix_assertions.begin(), prefix_assertions.end(), in.name)
        == prefix_assertions.end())
      continue;
    INFO(in.name);
    REQUIRE(verify_assertion(in.response, in.options).ok());
    auto each_prefix = [&](bytes assertion_response::*field) {
      const bytes& full = in.response.*field;
      for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = in.response;
        r.*field = prefix(full, n);
        auto res = verify_assertion(r, in.options);
        if (res.ok() || !clean(res))
          FAIL_CHECK("prefix " << n << ": " << res.reason());
      }
    };
    each_prefix(&assertion_response::authenticator_data);
    each_prefix(&assertion_response::client_data_json);
    each_prefix(&assertion_response::signature);
    const auto& key = in.options.credential.public_key;
    for (std::size_t n = 0; n < key.size(); ++n)
      CHECK_FALSE(parse_cose_key(prefix(key, n)).ok());
  }
}

TEST_CASE("random bit flips in registrations fail cleanly",
          "[auth][webauthn][fuzz]") {
  const auto& regs = load_corpus().registrations;
  std::mt19937 rng{20240917};
  std::size_t failures = 0;
  constexpr int rounds = 3000;
  for (int i = 0; i < rounds; ++i) {
    const auto& in = regs[rng() % regs.size()];
    auto r = in.response;
    bytes& target = rng() % 4 == 0 ? r.client_data_json : r.attestation_object;
    if (target.empty())
      continue;
    // One to three flipped bits, so length fields get hit with big values.
    for (unsigned k = 0, flips = 1 + rng() % 3; k < flips; ++k)
      target[rng() % target.size()]
          ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    auto res = verify_registration(r, in.options);
    INFO(in.name << " round " << i);
    CHECK(clean(res));
    failures += res.ok() ? 0 : 1;
  }
  // Most flips land in signed or structural bytes.
  CHECK(failures > rounds / 2);
}

TEST_CASE("random bit flips in assertions fail cleanly",
          "[auth][webauthn][fuzz]") {
  const auto& auths = load_corpus().assertions;
  std::mt19937 rng{20240918};
  std::size_t failures = 0;
  constexpr int rounds = 2000;
  for (int i = 0; i < rounds; ++i) {
    const auto& in = auths[rng() % auths.size()];
    auto r = in.response;
    auto o = in.options;
    bytes* targets[] = {&r.authenticator_data, &r.client_data_json,
                        &r.signature, &o.credential.public_key};
    bytes& target = *targets[rng() % 4];
    if (target.empty())
      continue;
    target[rng() % target.size()]
        ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    auto res = verify_assertion(r, o);
    INFO(in.name << " round " << i);
    CHECK(clean(res));
    failures += res.ok() ? 0 : 1;
  }
  CHECK(failures > rounds / 2);
}
