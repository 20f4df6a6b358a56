// webauthn.attestation_policy: which verified attestations a registration may
// carry (§7.1 steps 23-24), as a table over the attestation types and over
// every registration of the shared conformance vectors.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/encoding.hpp"
#include "auth/webauthn/attestation_trust.hpp"
#include "auth/webauthn/cbor.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "auth/webauthn/registration.hpp"
#include "webauthn_vector_case.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using namespace authsvc::auth::webauthn::testing;
using nlohmann::json;

namespace {

bytes decode(const json& b64url) {
  auto out = base64url_decode(b64url.get<std::string>());
  REQUIRE(out);
  return *out;
}

/// What a case's attestation is, from the vector data alone (not from what
/// our verifier reports): "none" for fmt none, "self" for packed without
/// x5c, "trusted" when its source configured roots (every positive such case
/// chains to them), else "untrusted" (a certificate chain that nothing
/// vouches for in this setup).
std::string category(const json& c) {
  auto fmt = c["expected"].value("fmt", std::string{});
  if (fmt == "none")
    return "none";
  if (fmt == "packed") {
    auto obj = decode(c["response"]["response"]["attestationObject"]);
    std::size_t used = 0;
    auto root = cbor_decode(obj.data(), obj.size(), used);
    REQUIRE(root);
    auto* stmt = cbor_map_find(root.get(), "attStmt");
    REQUIRE(stmt != nullptr);
    if (cbor_map_find(stmt, "x5c") == nullptr)
      return "self";
  }
  if (!as_list(c.value("attestation_roots", json::array())).empty())
    return "trusted";
  return "untrusted";
}

/// Runs a positive registration case under `trust`; returns "ok" or the
/// failure reason.
std::string run(const json& c, const json& roots, attestation_trust trust) {
  // Every case here is an accepted registration: its challenge must be
  // canonical base64url (fill_policy would otherwise use its text bytes).
  REQUIRE(base64url_decode(c["expected_challenge_b64url"].get<std::string>()));
  auto opts = registration_options_for(c, roots);
  opts.trust = trust;
  auto parsed = registration_response_for(c, opts);
  REQUIRE(parsed);
  auto response = std::move(parsed.value());
  auto res = verify_registration(response, opts);
  return res ? "ok" : std::string{res.reason()};
}

} // namespace

TEST_CASE("attestation policies are named as in the configuration",
          "[auth][webauthn][attestation_policy]") {
  for (auto p : {attestation_trust::none, attestation_trust::allow_self,
                 attestation_trust::require_trusted}) {
    auto back = parse_attestation_trust(to_string(p));
    REQUIRE(back);
    CHECK(*back == p);
  }
  CHECK(to_string(attestation_trust::allow_self) == "allow-self");
  CHECK(to_string(attestation_trust::require_trusted) == "require-trusted");
  CHECK_FALSE(parse_attestation_trust("allow_self"));
  CHECK_FALSE(parse_attestation_trust("Require-Trusted"));
  CHECK_FALSE(parse_attestation_trust(""));
  CHECK(registration_options{}.trust == attestation_trust::none);
}

TEST_CASE("each policy accepts exactly its attestation types",
          "[auth][webauthn][attestation_policy]") {
  using t = attestation_type;
  struct row {
    attestation_type type;
    bool chained;
    bool none, allow_self, require_trusted;
  };
  auto r = GENERATE(values<row>({
      {t::none, false, true, false, false},
      {t::self, false, true, true, false},
      {t::basic, false, true, false, false},
      {t::basic, true, true, true, true},
      {t::attca, false, true, false, false},
      {t::attca, true, true, true, true},
      {t::anonca, false, true, false, false},
      {t::anonca, true, true, true, true},
  }));
  INFO(to_string(r.type) << (r.chained ? " chained" : " unchained"));
  auto verdict = [&](attestation_trust p) {
    auto st = check_attestation_trust(p, r.type, r.chained);
    if (!st)
      CHECK(st.err().code() == errc::attestation_not_trusted);
    return st.ok();
  };
  CHECK(verdict(attestation_trust::none) == r.none);
  CHECK(verdict(attestation_trust::allow_self) == r.allow_self);
  CHECK(verdict(attestation_trust::require_trusted) == r.require_trusted);
  CHECK(to_string(errc::attestation_not_trusted) == "attestation_not_trusted");
}

TEST_CASE("each policy judges every accepted registration vector",
          "[auth][webauthn][attestation_policy][vectors]") {
  auto roots = load_vector_file("trust_anchors.json")["roots"];
  std::map<std::string, int> seen;
  for (const auto* file :
       {"py_webauthn.json", "simplewebauthn.json", "go_webauthn.json"}) {
    auto doc = load_vector_file(file);
    for (const auto& c : doc["cases"]) {
      if (c["kind"] != "registration" || !c["expected"]["ok"].get<bool>())
        continue;
      std::string name = std::string{file} + ":" + c["name"].get<std::string>();
      INFO(name);
      // The policy only judges what verifies; the vectors test pins the
      // few positive cases this verifier deliberately refuses.
      auto base = run(c, roots, attestation_trust::none);
      if (base != "ok")
        continue;
      auto kind = category(c);
      INFO("category " << kind);
      ++seen[kind];
      auto self_ok = kind == "self" || kind == "trusted";
      CHECK(run(c, roots, attestation_trust::allow_self)
            == (self_ok ? "ok" : "attestation_not_trusted"));
      CHECK(run(c, roots, attestation_trust::require_trusted)
            == (kind == "trusted" ? "ok" : "attestation_not_trusted"));
    }
  }
  // Every category is exercised; the counts pin the vector set.
  CHECK(seen["none"] == 14);
  CHECK(seen["self"] == 7);
  CHECK(seen["trusted"] == 16);
  CHECK(seen["untrusted"] == 37);
}
