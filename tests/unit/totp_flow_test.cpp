// The pure plans of TOTP enrolment, TOTP checks and recovery codes
// (actors/totp_flow): what each answer leads to, without actors or a
// database.
#include <catch2/catch.hpp>

#include "actors/totp_flow.hpp"
#include "auth/secret_box.hpp"
#include "auth/totp.hpp"

using namespace authsvc;
namespace tf = totp_flow;
namespace ts = db::totp_store;

namespace {

constexpr std::int64_t now = 1'700'000'000;

const key_ring& keys() {
  static const auto k = key_ring::derive("a master secret for the tests");
  return k;
}

const auth::bytes& secret() {
  static const auth::bytes s(20, 0x42);
  return s;
}

ts::totp_state confirmed_state() {
  ts::totp_state t;
  t.secret_enc = db::value::blob(
      auth::to_string(auth::secret_box::seal(keys().totp, secret(), "u1")));
  t.confirmed = true;
  return t;
}

} // namespace

TEST_CASE("a TOTP code is checked against the confirmed secret",
          "[totp][flow]") {
  auto code = auth::totp(secret(), now);
  auto check = [&](const std::optional<ts::totp_state>& t,
                   const std::string& c) {
    return tf::check_code(keys(), "u1", t, c, now);
  };
  SECTION("a right code gives its step") {
    auto r = check(confirmed_state(), code);
    REQUIRE(r.result == tf::verdict::ok);
    CHECK(r.step == now / 30);
  }
  SECTION("no TOTP, or one not confirmed yet") {
    CHECK(check(std::nullopt, code).result == tf::verdict::not_enabled);
    auto pending = confirmed_state();
    pending.confirmed = false;
    CHECK(check(pending, code).result == tf::verdict::not_enabled);
  }
  SECTION("a lock wins over a right code") {
    auto t = confirmed_state();
    t.locked_until = now + 1;
    CHECK(check(t, code).result == tf::verdict::locked);
  }
  SECTION("a replayed or wrong code") {
    auto t = confirmed_state();
    t.last_used_step = now / 30;
    CHECK(check(t, code).result == tf::verdict::wrong_code);
    auto wrong = code == "000000" ? "111111" : "000000";
    CHECK(check(confirmed_state(), wrong).result == tf::verdict::wrong_code);
  }
  SECTION("a secret sealed for another account does not open") {
    CHECK(tf::check_code(keys(), "u2", confirmed_state(), code, now).result
          == tf::verdict::undecryptable);
  }
}

TEST_CASE("confirming an enrolment", "[totp][flow]") {
  services svc;
  svc.cfg = std::make_shared<config::settings>();
  svc.keys = std::make_shared<key_ring>(keys());
  tf::notice_input notice;
  notice.user.email = "a@example.com";
  std::vector<std::string> codes(10, "abcd-efgh-ijkl");
  auto pending = confirmed_state();
  pending.confirmed = false;
  auto code = auth::totp(secret(), now);
  SECTION("needs a pending secret") {
    auto r = tf::plan_confirm(svc, "u1", std::nullopt, code, notice, codes, now);
    CHECK(r.err().is(totp_errc::not_pending));
    r = tf::plan_confirm(svc, "u1", confirmed_state(), code, notice, codes, now);
    CHECK(r.err().is(totp_errc::not_pending));
  }
  SECTION("needs the right code") {
    auto wrong = code == "000000" ? "111111" : "000000";
    auto r = tf::plan_confirm(svc, "u1", pending, wrong, notice, codes, now);
    CHECK(r.err().is(totp_errc::invalid_code));
  }
  SECTION("an undecryptable secret is internal") {
    auto r = tf::plan_confirm(svc, "u2", pending, code, notice, codes, now);
    CHECK(r.err().is(totp_errc::internal));
    CHECK(r.err().detail() == "totp secret undecryptable");
  }
  SECTION("one unit: confirm, reset, codes, notice") {
    auto r = tf::plan_confirm(svc, "u1", pending, code, notice, codes, now);
    REQUIRE(r.ok());
    CHECK(r->recovery_codes == codes);
    // confirm + lockout reset + delete + 10 codes + the mail job
    CHECK(r->write.statements.size() == 14);
    CHECK(r->write.statements[0].fail_code == "totp_not_pending");
    CHECK(r->write.statements[0].params[1].i == now / 30);
  }
}

TEST_CASE("an enrolment seals a fresh secret", "[totp][flow]") {
  config::settings cfg;
  auto r = tf::plan_enrol(cfg, keys(), "u1", "a@example.com", secret(), now);
  REQUIRE(r.ok());
  CHECK(r->otpauth_uri.rfind("otpauth://totp/", 0) == 0);
  CHECK(r->qr_svg.find("<svg") != std::string::npos);
  REQUIRE(r->write.statements.size() == 1);
  CHECK(r->write.statements[0].fail_code == "totp_already_enabled");
  auto sealed = auth::to_bytes(r->write.statements[0].params[1].s);
  CHECK(auth::secret_box::open(keys().totp, sealed, "u1") == secret());
}

TEST_CASE("TOTP units keep their shapes", "[totp][flow]") {
  CHECK(tf::disable_unit("u1", 5).statements.size() == 4);
  CHECK(tf::sign_in_unit("u1", 5, "src", now).statements.size() == 2);
  std::vector<std::string> codes(10, "x");
  CHECK(tf::regenerate_unit(keys(), "u1", 5, "src", codes, now)
            .statements.size()
        == 13);
  CHECK(tf::recovery_unit("u1", "h", "src", now).statements.size() == 2);
  CHECK(tf::six_digits("123456"));
  CHECK(!tf::six_digits("12345a"));
  CHECK(!tf::six_digits("1234567"));
}

TEST_CASE("a recovery-code sign-in is decided by the facts",
          "[totp][flow][recovery]") {
  ts::recovery_facts f;
  CHECK(tf::check_recovery(f, now) == tf::recovery_verdict::unknown);
  f.user = user_info{};
  CHECK(tf::check_recovery(f, now) == tf::recovery_verdict::wrong_code);
  f.code_live = true;
  CHECK(tf::check_recovery(f, now) == tf::recovery_verdict::ok);
  f.locked_until = now + 1;
  CHECK(tf::check_recovery(f, now) == tf::recovery_verdict::locked);
  // Different codes, different hashes.
  CHECK(tf::recovery_hash(keys(), "abcd-efgh") != tf::recovery_hash(keys(), "x"));
}
