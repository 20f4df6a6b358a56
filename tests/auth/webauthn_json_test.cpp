// The JSON edges of WebAuthn: options for navigator.credentials.* and the
// PublicKeyCredential JSON coming back.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "auth/webauthn/credential_json.hpp"
#include "auth/webauthn/options.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using nlohmann::json;

TEST_CASE("creation options carry every member the browser needs",
          "[auth][webauthn][json]") {
  creation_options_params p;
  p.rp_id = "auth.example.com";
  p.rp_name = "Example";
  p.user_id = {1, 2, 3};
  p.user_name = "ada@example.com";
  p.user_display_name = "Ada";
  p.challenge = {0xfb, 0xff};
  p.exclude_credentials = {{{9, 9}, {"usb", "nfc"}}, {{8}, {}}};
  p.resident_key = "required";
  p.user_verification = "required";
  auto j = make_creation_options(p);
  CHECK(j["rp"] == json{{"id", "auth.example.com"}, {"name", "Example"}});
  CHECK(j["user"]
        == json{{"id", "AQID"},
                {"name", "ada@example.com"},
                {"displayName", "Ada"}});
  CHECK(j["challenge"] == "-_8");
  CHECK(j["pubKeyCredParams"].size() == 3);
  CHECK(j["pubKeyCredParams"][1] == json{{"type", "public-key"}, {"alg", -7}});
  CHECK(j["timeout"] == 300000);
  CHECK(j["excludeCredentials"][0]
        == json{{"type", "public-key"},
                {"id", "CQk"},
                {"transports", {"usb", "nfc"}}});
  CHECK_FALSE(j["excludeCredentials"][1].contains("transports"));
  CHECK(j["authenticatorSelection"]
        == json{{"residentKey", "required"},
                {"requireResidentKey", true},
                {"userVerification", "required"}});
  CHECK(j["attestation"] == "none");
  CHECK(j["extensions"] == json{{"credProps", true}});
}

TEST_CASE("request options allow listed or discoverable credentials",
          "[auth][webauthn][json]") {
  request_options_params p;
  p.challenge = {1};
  p.rp_id = "auth.example.com";
  p.timeout_ms = 60000;
  auto j = make_request_options(p);
  CHECK(j["challenge"] == "AQ");
  CHECK(j["rpId"] == "auth.example.com");
  CHECK(j["timeout"] == 60000);
  CHECK(j["userVerification"] == "preferred");
  CHECK(j["allowCredentials"] == json::array());
  p.allow_credentials = {{{7}, {"internal"}}};
  CHECK(make_request_options(p)["allowCredentials"][0]["id"] == "Bw");
}

namespace {

json registration_json() {
  return json{{"id", "AQID"},
              {"rawId", "AQID"},
              {"type", "public-key"},
              {"authenticatorAttachment", "platform"},
              {"response",
               {{"clientDataJSON", "e30"},
                {"attestationObject", "oA"},
                {"transports", {"internal", "hybrid"}}}},
              {"clientExtensionResults", json::object()}};
}

json assertion_json() {
  return json{{"id", "AQID"},
              {"rawId", "AQID"},
              {"type", "public-key"},
              {"response",
               {{"clientDataJSON", "e30"},
                {"authenticatorData", "AA"},
                {"signature", "AQ"},
                {"userHandle", "BQY"}}}};
}

} // namespace

TEST_CASE("PublicKeyCredential JSON decodes into the input structs",
          "[auth][webauthn][json]") {
  auto reg = parse_credential_json(registration_json());
  REQUIRE(reg.ok());
  REQUIRE(reg->is_registration());
  const auto& r = std::get<registration_response>(reg->response);
  CHECK(r.id == "AQID");
  CHECK(r.raw_id == bytes{1, 2, 3});
  CHECK(to_string(r.client_data_json) == "{}");
  CHECK(r.attestation_object == bytes{0xa0});
  CHECK(r.transports == std::vector<std::string>{"internal", "hybrid"});
  CHECK(r.authenticator_attachment == "platform");

  auto as = parse_assertion_credential(assertion_json());
  REQUIRE(as.ok());
  CHECK(as->authenticator_data == bytes{0});
  CHECK(as->signature == bytes{1});
  CHECK(as->user_handle == std::optional<bytes>{bytes{5, 6}});
  CHECK(parse_registration_credential(assertion_json()).reason()
        == "malformed_credential");
  CHECK(parse_assertion_credential(registration_json()).reason()
        == "malformed_credential");
}

TEST_CASE("null or empty optional members are absent",
          "[auth][webauthn][json]") {
  auto j = assertion_json();
  j["response"]["userHandle"] = nullptr;
  j["authenticatorAttachment"] = nullptr;
  auto as = parse_assertion_credential(j);
  REQUIRE(as.ok());
  CHECK_FALSE(as->user_handle);
  j["response"]["userHandle"] = "";
  CHECK_FALSE(parse_assertion_credential(j)->user_handle);
  auto r = registration_json();
  r["response"]["transports"] = nullptr;
  CHECK(parse_registration_credential(r)->transports.empty());
}

TEST_CASE("bad PublicKeyCredential JSON is a clean malformed_credential",
          "[auth][webauthn][json]") {
  auto expect_bad = [](json j) {
    CHECK(parse_credential_json(j).reason() == "malformed_credential");
  };
  expect_bad(json::array());
  expect_bad(json("text"));
  auto j = registration_json();
  SECTION("type") {
    j["type"] = "password";
    expect_bad(j);
    j.erase("type");
    expect_bad(j);
  }
  SECTION("id and rawId must name the same bytes") {
    j["rawId"] = "AQIE";
    expect_bad(j);
  }
  SECTION("ids must be canonical base64url") {
    j["id"] = j["rawId"] = "bbb";
    expect_bad(j);
  }
  SECTION("binary members must be base64url strings") {
    j["response"]["clientDataJSON"] = "e30+";
    expect_bad(j);
    j["response"]["clientDataJSON"] = 5;
    expect_bad(j);
  }
  SECTION("response and its members must exist") {
    j.erase("response");
    expect_bad(j);
    auto a = assertion_json();
    a["response"].erase("signature");
    expect_bad(a);
  }
  SECTION("transports must be strings") {
    j["response"]["transports"] = {1};
    expect_bad(j);
  }
}
