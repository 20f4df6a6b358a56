// Custom access-token claims: the start-up check of each mapping (reserved
// names, malformed names and paths) and the resolution of paths in an
// app_metadata document (nested members, JSON types kept, missing paths
// omitted).
#include <catch2/catch.hpp>

#include "auth/token_claims.hpp"

using namespace authsvc::auth;
using nlohmann::json;

TEST_CASE("every registered and service claim name is refused as a custom "
          "claim",
          "[auth][claims]") {
  for (auto name : {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid",
                    "amr", "auth_time", "scope", "email", "client_id", "azp"}) {
    INFO(name);
    CHECK(is_reserved_claim(name));
    auto problem = check_claim_mapping(name, "app_metadata.x");
    REQUIRE(problem);
    CHECK(problem->find("reserved") != std::string::npos);
  }
  SECTION("ignoring case") {
    CHECK(is_reserved_claim("SUB"));
    CHECK(is_reserved_claim("Auth_Time"));
    CHECK(check_claim_mapping("Exp", "app_metadata.x"));
  }
  SECTION("what a token of ours carries is all reserved") {
    // The claims make_access_token_claims writes (auth/jws.hpp).
    for (auto name :
         {"iss", "aud", "sub", "sid", "iat", "exp", "jti", "amr", "auth_time"})
      CHECK(is_reserved_claim(name));
  }
  CHECK_FALSE(is_reserved_claim("role"));
  CHECK_FALSE(is_reserved_claim("org_id"));
  CHECK_FALSE(is_reserved_claim("https://example.com/roles"));
}

TEST_CASE("a mapping needs a usable name and a path into app_metadata",
          "[auth][claims]") {
  CHECK_FALSE(check_claim_mapping("role", "app_metadata.role"));
  CHECK_FALSE(check_claim_mapping("org", "app_metadata.org.id"));
  CHECK_FALSE(check_claim_mapping("https://example.com/tier",
                                  "app_metadata.billing.tier-1"));
  for (auto bad_path :
       {"", "role", "app_metadata", "app_metadata.", "app_metadata..x",
        "app_metadata.x.", "user_metadata.role", "APP_METADATA.role",
        "app_metadata.a b", "app_metadata.a$", " app_metadata.role",
        "app_metadata.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17"}) {
    INFO("path '" << bad_path << "'");
    CHECK(check_claim_mapping("role", bad_path));
  }
  for (auto bad_name : {"", "a b", "a,b", "a=b", "a\"b", "a\\b", "tab\t",
                        "caf\xc3\xa9"}) {
    INFO("name '" << bad_name << "'");
    CHECK(check_claim_mapping(bad_name, "app_metadata.x"));
  }
  CHECK(check_claim_mapping(std::string(129, 'a'), "app_metadata.x"));
  CHECK_FALSE(check_claim_mapping(std::string(128, 'a'), "app_metadata.x"));
  CHECK_FALSE(check_claim_mapping(
      "deep", "app_metadata.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16"));
}

TEST_CASE("mappings resolve nested members and keep their JSON types",
          "[auth][claims]") {
  auto m = parse_claim_mappings({{"role", "app_metadata.role"},
                                 {"org", "app_metadata.org.id"},
                                 {"admin", "app_metadata.flags.admin"},
                                 {"groups", "app_metadata.groups"},
                                 {"limits", "app_metadata.limits"},
                                 {"ratio", "app_metadata.ratio"},
                                 {"gone", "app_metadata.nothing"},
                                 {"cleared", "app_metadata.cleared"}});
  REQUIRE(m.size() == 8);
  auto doc = R"({"role":"editor","org":{"id":42,"name":"Acme"},
                 "flags":{"admin":true},"groups":["a","b"],
                 "limits":{"seats":5},"ratio":0.5,"cleared":null})";
  auto c = resolve_claims(m, doc);
  CHECK(c == json{{"role", "editor"},
                  {"org", 42},
                  {"admin", true},
                  {"groups", {"a", "b"}},
                  {"limits", {{"seats", 5}}},
                  {"ratio", 0.5},
                  {"cleared", nullptr}});
  CHECK(c["org"].is_number_integer());
  CHECK(c["admin"].is_boolean());
  CHECK_FALSE(c.contains("gone"));
}

TEST_CASE("a path that does not resolve adds no claim", "[auth][claims]") {
  auto m = parse_claim_mappings({{"org", "app_metadata.org.id"}});
  // The member is missing, a step is not an object, or the document is no
  // object at all.
  for (auto doc : {R"({})", R"({"org":{}})", R"({"org":"acme"})",
                   R"({"org":[{"id":1}]})", R"({"org":null})", "[]", "42",
                   "not json", ""}) {
    INFO(doc);
    CHECK(resolve_claims(m, doc) == json::object());
  }
  CHECK(resolve_claims({}, R"({"org":{"id":1}})") == json::object());
}

TEST_CASE("refused mappings are left out of the parsed set", "[auth][claims]") {
  auto m = parse_claim_mappings({{"sub", "app_metadata.sub"},
                                 {"role", "user_metadata.role"},
                                 {"tier", "app_metadata.tier"}});
  REQUIRE(m.size() == 1);
  CHECK(m[0].name == "tier");
  CHECK(m[0].path == std::vector<std::string>{"tier"});
}

TEST_CASE("custom claims never replace a claim the token already has",
          "[auth][claims]") {
  json claims = {{"sub", "user-1"}, {"role", "kept"}};
  merge_custom_claims(claims,
                      {{"sub", "attacker"}, {"role", "new"}, {"tier", 3},
                       {"EXP", 1}});
  CHECK(claims["sub"] == "user-1");
  CHECK(claims["role"] == "kept");
  CHECK(claims["tier"] == 3);
  CHECK_FALSE(claims.contains("EXP"));
}
