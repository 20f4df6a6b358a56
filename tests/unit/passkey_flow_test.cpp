// The pure plans of the passkey ceremonies (actors/passkey_flow): what each
// answer leads to, without actors or a database.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "actors/passkey_flow.hpp"
#include "auth/encoding.hpp"

using namespace authsvc;
namespace pf = passkey_flow;
namespace ws = db::webauthn_store;
namespace wa = auth::webauthn;
using action = pf::login_plan::action;

namespace {

constexpr std::int64_t now = 1'700'000'000;

config::settings settings() {
  config::settings s;
  s.webauthn.max_passkeys = 3;
  s.webauthn.challenge_ttl = 300;
  return s;
}

ws::login_facts live_facts() {
  ws::login_facts f;
  f.challenge = auth::base64url_encode(auth::bytes(32, 7));
  f.bound_user = "u1";
  f.user_verification = "preferred";
  f.expires_at = now + 60;
  f.credential_known = true;
  f.user_id = "u1";
  return f;
}

wa::result<wa::assertion_response> some_assertion() {
  wa::assertion_response a;
  a.raw_id = auth::bytes(16, 1);
  return a;
}

wa::result<wa::assertion_response> no_assertion() {
  return wa::errc::malformed_credential;
}

} // namespace

TEST_CASE("registration options stop at the passkey limit",
          "[passkey][flow]") {
  auto cfg = settings();
  user_info user;
  user.id = "u1";
  user.email = "a@example.com";
  std::vector<ws::credential_ref> two = {{"AQID", "[\"usb\"]"},
                                         {"BAUG", "[]"}};
  SECTION("below the limit: options exclude the user's passkeys") {
    auto plan = pf::plan_registration_options(cfg, "u1", user, two,
                                              auth::bytes(32, 1), "c1", now);
    REQUIRE(plan.ok());
    CHECK(plan->challenge_id == "c1");
    CHECK(plan->public_key["excludeCredentials"].size() == 2);
    CHECK(plan->public_key["user"]["displayName"] == "a@example.com");
    // Purge of old challenges, then the new one.
    REQUIRE(plan->write.statements.size() == 2);
    CHECK(plan->write.statements[1].params[2].s == "register");
    CHECK(plan->write.statements[1].params[7].i == now + 300);
  }
  SECTION("at the limit") {
    two.push_back({"BwgJ", "[]"});
    auto plan = pf::plan_registration_options(cfg, "u1", user, two,
                                              auth::bytes(32, 1), "c1", now);
    REQUIRE(!plan.ok());
    CHECK(plan.err().is(passkey_errc::passkey_limit_reached));
  }
}

TEST_CASE("sign-in options have one shape for every address",
          "[passkey][flow]") {
  auto cfg = settings();
  ws::login_credentials unknown;
  ws::login_credentials known{"u1", {"AQIDBA"}};
  auto a = pf::plan_login_options(cfg, "key", "x@example.com", unknown,
                                  auth::bytes(32, 1), "c1", now);
  auto b = pf::plan_login_options(cfg, "key", "y@example.com", known,
                                  auth::bytes(32, 1), "c2", now);
  CHECK(a.public_key["allowCredentials"].size() == 3);
  CHECK(b.public_key["allowCredentials"].size() == 3);
  CHECK(a.public_key["userVerification"] == b.public_key["userVerification"]);
  // Bound to the account, or to none for an unknown address.
  CHECK(a.write.statements[1].params[3].is_null());
  CHECK(b.write.statements[1].params[3].s == "u1");
  SECTION("decoys are stable per address") {
    auto again = pf::plan_login_options(cfg, "key", "x@example.com", unknown,
                                        auth::bytes(32, 2), "c3", now);
    CHECK(again.public_key["allowCredentials"]
          == a.public_key["allowCredentials"]);
  }
  SECTION("usernameless sign-in requires user verification") {
    auto u = pf::plan_login_options(cfg, "key", "", known, auth::bytes(32, 1),
                                    "c4", now);
    CHECK(u.public_key["userVerification"] == "required");
    CHECK(u.public_key["allowCredentials"].empty());
    CHECK(u.write.statements[1].params[5].i == 1); // discoverable
  }
}

TEST_CASE("a sign-in answer is refused before any signature check",
          "[passkey][flow]") {
  auto cfg = settings();
  SECTION("an unknown challenge is not consumed") {
    auto p = pf::plan_login(cfg, "c1", std::nullopt, some_assertion(), "AQ",
                            "src", now);
    CHECK(p.act == action::refuse);
    CHECK(p.why.code == passkey_errc::challenge_not_found);
  }
  SECTION("an expired challenge") {
    auto f = live_facts();
    f.expires_at = now;
    auto p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.act == action::reject);
    CHECK(p.why.code == passkey_errc::challenge_expired);
    CHECK(p.why.why() == "challenge_expired");
  }
  SECTION("a locked source answers like a bad signature") {
    auto f = live_facts();
    f.source_locked_until = now + 1;
    auto p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.act == action::reject);
    CHECK(p.why.reason == "signature_invalid");
    CHECK(p.user_id.empty());
  }
  SECTION("a malformed credential counts against the source") {
    auto p = pf::plan_login(cfg, "c1", live_facts(), no_assertion(), "", "src",
                            now);
    CHECK(p.act == action::reject_source);
    CHECK(p.why.reason == "malformed_credential");
  }
  SECTION("an unknown or disabled credential counts against the source") {
    auto f = live_facts();
    f.credential_known = false;
    auto p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.act == action::reject_source);
    CHECK(p.why.reason == "unknown_credential");
    f = live_facts();
    f.user_disabled = true;
    p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.why.reason == "unknown_credential");
  }
  SECTION("another account's passkey for an address-bound challenge") {
    auto f = live_facts();
    f.bound_user = "u2";
    auto p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.act == action::reject_source);
    CHECK(p.why.reason == "credential_not_allowed");
    f.discoverable = true; // usernameless: any account's passkey
    p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.why.reason != "credential_not_allowed");
  }
  SECTION("an account locked for this source skips the check") {
    auto f = live_facts();
    f.locked_until = now + 1;
    auto p = pf::plan_login(cfg, "c1", f, some_assertion(), "AQ", "src", now);
    CHECK(p.act == action::reject);
    CHECK(p.why.reason == "signature_invalid");
    CHECK(p.user_id == "u1");
  }
  SECTION("a bad signature counts against the account from this source") {
    auto p = pf::plan_login(cfg, "c1", live_facts(), some_assertion(), "AQ",
                            "src", now);
    CHECK(p.act == action::reject_account);
    CHECK(p.why.code == passkey_errc::webauthn_failed);
    CHECK(p.user_id == "u1");
  }
}

TEST_CASE("failed ceremony units map to refusals", "[passkey][flow]") {
  auto r = pf::registration_unit_failure("credential_already_registered");
  REQUIRE(r);
  CHECK(r->code == passkey_errc::webauthn_failed);
  CHECK(r->reason == "credential_already_registered");
  CHECK(pf::registration_unit_failure("passkey_limit_reached")->code
        == passkey_errc::passkey_limit_reached);
  CHECK(pf::registration_unit_failure("challenge_not_found")->code
        == passkey_errc::challenge_not_found);
  CHECK(!pf::registration_unit_failure("constraint"));
  CHECK(pf::login_unit_failure("unknown_credential")->reason
        == "unknown_credential");
  CHECK(pf::login_unit_failure("challenge_not_found")->code
        == passkey_errc::challenge_not_found);
  CHECK(!pf::login_unit_failure("constraint"));
}

TEST_CASE("a registration answer is checked against its challenge",
          "[passkey][flow]") {
  services svc;
  svc.cfg = std::make_shared<config::settings>(settings());
  pf::registration_input in;
  in.challenge_id = "c1";
  in.user_id = "u1";
  ws::registration_facts f;
  f.user_id = "u1";
  f.expires_at = now + 60;
  nlohmann::json credential = nlohmann::json::object();
  auto code_of = [&](const std::optional<ws::registration_facts>& facts) {
    auto plan = pf::plan_registration(svc, {}, facts, in, credential, now);
    REQUIRE(std::holds_alternative<pf::rejection>(plan));
    return std::get<pf::rejection>(plan);
  };
  CHECK(code_of(std::nullopt).code == passkey_errc::challenge_not_found);
  auto other = f;
  other.user_id = "u2";
  CHECK(code_of(other).code == passkey_errc::challenge_not_found);
  auto expired = f;
  expired.expires_at = now;
  CHECK(code_of(expired).code == passkey_errc::challenge_expired);
  auto bad = code_of(f);
  CHECK(bad.code == passkey_errc::webauthn_failed);
  CHECK(!bad.reason.empty());
}

TEST_CASE("passkey helpers", "[passkey][flow]") {
  CHECK(pf::user_handle("0123456789abcdef0123456789abcdef").size() == 16);
  CHECK(pf::user_handle("not-a-uuid") == auth::to_bytes("not-a-uuid"));
  CHECK(pf::transport_list("[\"usb\",1,\"nfc\"]")
        == std::vector<std::string>{"usb", "nfc"});
  CHECK(pf::transport_list("nonsense").empty());
  ws::passkey_record p{"id", "Key", 5, std::nullopt, true, "[\"usb\"]"};
  auto j = pf::passkey_json(p);
  CHECK(j["last_used_at"].is_null());
  CHECK(j["backed_up"] == true);
  p.last_used_at = 9;
  CHECK(pf::passkey_json(p)["last_used_at"] == 9);
  config::settings s;
  s.webauthn.algorithms = {"ES256", "RS256", "bogus"};
  CHECK(pf::cose_algorithms(s) == std::vector<int>{-7, -257});
}

TEST_CASE("trust anchors are read from their folder once, when needed",
          "[passkey][flow][attestation]") {
  auto dir = std::filesystem::temp_directory_path()
             / ("anchors-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "root.pem") << "-----BEGIN CERTIFICATE-----\n";
  std::ofstream(dir / "notes.txt") << "not a root";
  std::ofstream(dir / "empty.pem");
  config::settings s;
  s.webauthn.trust_anchors_dir = dir.string();
  SECTION("no attestation asked for and none required: none read") {
    s.webauthn.attestation = "none";
    s.webauthn.attestation_policy = "none";
    CHECK(pf::load_trust_anchors(s)->empty());
  }
  SECTION("attestation asked for: the non-empty PEM files") {
    s.webauthn.attestation = "direct";
    auto anchors = pf::load_trust_anchors(s);
    REQUIRE(anchors->size() == 1);
    CHECK(anchors->at(0).name == "root.pem");
  }
  SECTION("trusted chains required: the same files") {
    s.webauthn.attestation = "none";
    s.webauthn.attestation_policy = "require-trusted";
    CHECK(pf::load_trust_anchors(s)->size() == 1);
  }
  SECTION("an unreadable folder gives none") {
    CHECK(pf::read_trust_anchors((dir / "missing").string()).empty());
    CHECK(pf::read_trust_anchors("").empty());
  }
  std::filesystem::remove_all(dir);
}
