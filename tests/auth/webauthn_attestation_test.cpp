// One test per attestation statement format (WebAuthn §8), using a real
// response of that format from the shared vectors and varying what the
// statement must bind: the client data hash, the time, the trust anchors.
#include <catch2/catch.hpp>

#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/client_data.hpp"
#include "webauthn_test_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using namespace authsvc::auth::webauthn::testing;

namespace {

struct format_case {
  const char* file;
  const char* name;
  const char* fmt;
  attestation_type type;
  // What a foreign clientDataHash breaks first.
  const char* wrong_hash_reason;
};

const format_case cases[] = {
    {"py_webauthn.json", "packed_yubikey_firefox", "packed",
     attestation_type::basic, "attestation_signature_invalid"},
    {"simplewebauthn.json", "reg_fido_u2f", "fido-u2f", attestation_type::basic,
     "attestation_signature_invalid"},
    {"simplewebauthn.json", "reg_tpm_rsa_sha256", "tpm",
     attestation_type::attca, "attestation_nonce_mismatch"},
    {"simplewebauthn.json", "reg_android_key_pixel_8a", "android-key",
     attestation_type::basic, "attestation_signature_invalid"},
    {"py_webauthn.json", "android_safetynet_2021", "android-safetynet",
     attestation_type::basic, "attestation_nonce_mismatch"},
    {"py_webauthn.json", "apple_passkey_2021", "apple",
     attestation_type::anonca, "attestation_nonce_mismatch"},
};

struct loaded {
  attestation_object object;
  bytes client_data_hash;
  attestation_policy policy;
};

loaded load(const format_case& fc, bool with_roots) {
  auto c = vector_case(fc.file, fc.name);
  REQUIRE(!c.is_null());
  auto roots = load_vectors("trust_anchors.json")["roots"];
  auto obj = parse_attestation_object(
      b64(c["response"]["response"]["attestationObject"]));
  REQUIRE(obj.ok());
  loaded out{std::move(obj.value()),
             sha256(b64(c["response"]["response"]["clientDataJSON"])),
             {}};
  out.policy.verify_time
      = c.contains("verify_time_unix")
            ? c["verify_time_unix"].get<std::int64_t>()
            : c["x5c_validity_overlap_unix"][0].get<std::int64_t>();
  out.policy.safetynet_check_timestamp
      = c.value("options", nlohmann::json::object())
            .value("safetynet_verify_timestamp", true);
  if (with_roots)
    for (const auto& name : c["attestation_roots"])
      out.policy.trust_anchors.push_back(
          {name.get<std::string>(), roots[name.get<std::string>()]["pem"]});
  return out;
}

} // namespace

TEST_CASE("each attestation format verifies and binds the client data",
          "[auth][webauthn][attestation]") {
  for (const auto& fc : cases) {
    INFO(fc.file << ":" << fc.name);
    auto l = load(fc, true);
    CHECK(l.object.fmt == fc.fmt);
    auto res
        = verify_attestation_statement(l.object, l.client_data_hash, l.policy);
    REQUIRE(res.ok());
    CHECK(res->type == fc.type);
    CHECK_FALSE(res->trust_path.empty());
    CHECK(res->chained_to_anchor == !l.policy.trust_anchors.empty());

    auto other_hash = l.client_data_hash;
    other_hash[0] ^= 1;
    CHECK(verify_attestation_statement(l.object, other_hash, l.policy).reason()
          == fc.wrong_hash_reason);
  }
}

TEST_CASE("attestation certificates are checked at the given time",
          "[auth][webauthn][attestation]") {
  for (const auto& fc : cases) {
    INFO(fc.file << ":" << fc.name);
    for (bool with_roots : {false, true}) {
      auto l = load(fc, with_roots);
      l.policy.verify_time = 0; // 1970: before every certificate
      l.policy.safetynet_check_timestamp = false;
      CHECK(verify_attestation_statement(l.object, l.client_data_hash, l.policy)
                .reason()
            == "attestation_trust_path_invalid");
    }
  }
}

TEST_CASE("x5c chains must reach a configured anchor",
          "[auth][webauthn][attestation]") {
  auto roots = load_vectors("trust_anchors.json")["roots"];
  for (const auto& fc : cases) {
    INFO(fc.file << ":" << fc.name);
    auto l = load(fc, false);
    // The W3C test CA signs none of these chains.
    l.policy.trust_anchors
        = {{"w3c", roots["w3c_webauthn_test_vectors_ca"]["pem"]}};
    CHECK(verify_attestation_statement(l.object, l.client_data_hash, l.policy)
              .reason()
          == "attestation_trust_path_invalid");
  }
  SECTION("an anchor may be given as DER") {
    auto l = load(cases[5], true);
    auto pem = l.policy.trust_anchors.at(0).certificate;
    std::string body;
    for (std::size_t pos = pem.find('\n') + 1; pos < pem.size();) {
      auto end = pem.find('\n', pos);
      auto line = pem.substr(pos, end - pos);
      if (line.rfind("-----", 0) == 0)
        break;
      body += line;
      pos = end + 1;
    }
    auto der = base64_decode(body);
    REQUIRE(der);
    l.policy.trust_anchors = {{"apple", to_string(*der)}};
    auto res
        = verify_attestation_statement(l.object, l.client_data_hash, l.policy);
    REQUIRE(res.ok());
    CHECK(res->chained_to_anchor);
  }
}

TEST_CASE("SafetyNet freshness and CTS profile are enforced",
          "[auth][webauthn][attestation]") {
  auto c = vector_case("simplewebauthn.json",
                       "reg_android_safetynet_cts_false_not_enforced");
  REQUIRE(!c.is_null());
  auto obj = parse_attestation_object(
      b64(c["response"]["response"]["attestationObject"]));
  REQUIRE(obj.ok());
  auto hash = sha256(b64(c["response"]["response"]["clientDataJSON"]));
  auto roots = load_vectors("trust_anchors.json")["roots"];
  attestation_policy policy;
  policy.trust_anchors = {{"gs", roots["globalsign_root_ca"]["pem"]}};
  policy.verify_time = c["verify_time_unix"].get<std::int64_t>();
  policy.safetynet_enforce_cts_profile = false;
  CHECK(verify_attestation_statement(*obj, hash, policy).ok());
  policy.verify_time += 61;
  CHECK(verify_attestation_statement(*obj, hash, policy).reason()
        == "safetynet_timestamp_invalid");
  policy.verify_time -= 122;
  CHECK(verify_attestation_statement(*obj, hash, policy).reason()
        == "safetynet_timestamp_invalid");
  policy.verify_time += 61;
  policy.safetynet_enforce_cts_profile = true;
  CHECK(verify_attestation_statement(*obj, hash, policy).reason()
        == "safetynet_cts_profile_mismatch");
}

TEST_CASE("android-key authorization lists follow §8.4",
          "[auth][webauthn][attestation]") {
  // The W3C vector's KeyDescription has empty lists: no origin, no purpose.
  auto c = vector_case("go_webauthn.json", "reg_spec_AndroidKeyES256");
  REQUIRE(!c.is_null());
  auto obj = parse_attestation_object(
      b64(c["response"]["response"]["attestationObject"]));
  REQUIRE(obj.ok());
  attestation_policy policy;
  policy.verify_time = c["x5c_validity_overlap_unix"][0].get<std::int64_t>();
  CHECK(verify_attestation_statement(
            *obj, sha256(b64(c["response"]["response"]["clientDataJSON"])),
            policy)
            .reason()
        == "android_key_authorization_list");
}

TEST_CASE("the aaguid certificate extension must match authData",
          "[auth][webauthn][attestation]") {
  for (const char* name : {"reg_packed_fidotest_aaguid_ext_mismatch",
                           "reg_tpm_fidotest_aaguid_ext_mismatch"}) {
    INFO(name);
    auto c = vector_case("simplewebauthn.json", name);
    REQUIRE(!c.is_null());
    auto obj = parse_attestation_object(
        b64(c["response"]["response"]["attestationObject"]));
    REQUIRE(obj.ok());
    attestation_policy policy;
    policy.verify_time = c["x5c_validity_overlap_unix"][0].get<std::int64_t>();
    CHECK(verify_attestation_statement(
              *obj, sha256(b64(c["response"]["response"]["clientDataJSON"])),
              policy)
              .reason()
          == "attestation_aaguid_mismatch");
  }
}

TEST_CASE("attestation objects that are not the expected CBOR are malformed",
          "[auth][webauthn][attestation]") {
  CHECK(parse_attestation_object({}).reason()
        == "malformed_attestation_object");
  CHECK(parse_attestation_object({0xa0}).reason()
        == "malformed_attestation_object");
  // A map whose authData is text, not bytes.
  cbor_item_t* map = cbor_new_definite_map(3);
  put(map, cbor_build_string("fmt"), cbor_build_string("none"));
  put(map, cbor_build_string("attStmt"), cbor_new_definite_map(0));
  put(map, cbor_build_string("authData"), cbor_build_string("x"));
  CHECK(parse_attestation_object(serialize(map)).reason()
        == "malformed_attestation_object");
  // An array that claims four billion entries must not be allocated.
  CHECK(parse_attestation_object({0x9a, 0xff, 0xff, 0xff, 0xff, 0x00}).reason()
        == "malformed_attestation_object");
}
