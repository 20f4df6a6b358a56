// Session policies and custom claims in the session actor, on a manual
// clock against a real DB actor: a session without a refresh for
// auth.session_idle_timeout ends (its access tokens fail at once, its
// refresh is refused, the row says why); a sign-in beyond
// auth.session_max_per_user revokes the oldest sessions at once and queues
// the notice; auth.access_token_claims copies app_metadata into every token
// minted, and a change shows in the next refresh.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "actors/session_errc.hpp"
#include "auth/encoding.hpp"
#include "tests/actors/session_fixture.hpp"

using namespace authsvc;
using authsvc::test::session_fixture;

namespace {

/// The payload of a JWS, unverified (its signature is the integration
/// suite's business, with an independent verifier).
nlohmann::json payload_of(const std::string& jws) {
  auto first = jws.find('.');
  auto second = jws.find('.', first + 1);
  auto bytes = auth::base64url_decode(jws.substr(first + 1, second - first - 1));
  REQUIRE(bytes);
  return nlohmann::json::parse(auth::to_string(*bytes));
}

/// Why session `id` was revoked ("" while it is not).
std::string revoked_reason(session_fixture& fx, const std::string& id) {
  auto rs = fx.query(
      db::stmt("SELECT revoked_reason FROM sessions WHERE id = ?",
               {db::value::text(id)}));
  REQUIRE(rs.rows.size() == 1);
  return rs.at(0, "revoked_reason").as_text();
}

bool refused_as_invalid(const test::refresh_answer& a) {
  return a.refused && a.refused->is(session_errc::invalid_refresh_token);
}

} // namespace

TEST_CASE("a session without a refresh for the idle timeout ends",
          "[session_actor][policies]") {
  session_fixture fx(
      [](config::settings& s) { s.auth.session_idle_timeout = 60; });
  auto t = fx.open();
  fx.advance(59);
  CHECK(fx.verify(t.access_token).empty());
  // A refresh restarts the idle time.
  auto r = fx.refresh(t.refresh_token);
  REQUIRE_FALSE(r.refused);
  fx.advance(59);
  CHECK(fx.verify(r.tokens.access_token).empty());
  CHECK(revoked_reason(fx, t.session_id).empty());

  fx.advance(1);
  // 60 s since the refresh: the access token fails at once, although it is
  // within its own lifetime, and the refresh is refused.
  CHECK(fx.verify(r.tokens.access_token) == "unauthorized");
  CHECK(refused_as_invalid(fx.refresh(r.tokens.refresh_token)));
  CHECK(revoked_reason(fx, t.session_id) == "idle_timeout");
}

TEST_CASE("an idle session's refresh is refused and revokes it even when "
          "nothing checked it before",
          "[session_actor][policies]") {
  session_fixture fx(
      [](config::settings& s) { s.auth.session_idle_timeout = 30; });
  auto t = fx.open();
  fx.advance(30);
  CHECK(refused_as_invalid(fx.refresh(t.refresh_token)));
  CHECK(revoked_reason(fx, t.session_id) == "idle_timeout");
  CHECK(fx.verify(t.access_token) == "unauthorized");
}

TEST_CASE("without an idle timeout a session lives as long as its tokens",
          "[session_actor][policies]") {
  session_fixture fx;
  auto t = fx.open();
  fx.advance(800); // access tokens live 900 s
  CHECK(fx.verify(t.access_token).empty());
  CHECK_FALSE(fx.refresh(t.refresh_token).refused);
}

TEST_CASE("a sign-in beyond the per-user limit revokes the oldest sessions "
          "at once, with a notice",
          "[session_actor][policies]") {
  session_fixture fx(
      [](config::settings& s) { s.auth.session_max_per_user = 2; });
  auto a = fx.open("first");
  fx.advance(1);
  auto b = fx.open("second");
  fx.advance(1);
  CHECK(fx.verify(a.access_token).empty());
  auto c = fx.open("third");
  // The moment c's tokens are out, a's no longer verify.
  CHECK(fx.verify(a.access_token) == "unauthorized");
  CHECK(fx.verify(b.access_token).empty());
  CHECK(fx.verify(c.access_token).empty());
  CHECK(refused_as_invalid(fx.refresh(a.refresh_token)));
  CHECK(revoked_reason(fx, a.session_id) == "session_max_per_user");
  CHECK(revoked_reason(fx, b.session_id).empty());
  // The mail job is queued for the user, in the revoking unit.
  auto jobs = fx.query(db::stmt("SELECT to_email FROM mail_jobs "
                                "WHERE template = 'session_evicted'"));
  REQUIRE(jobs.rows.size() == 1);
  CHECK(jobs.at(0, "to_email").as_text() == "alice@example.com");

  SECTION("a refresh opens no session, so it evicts none") {
    auto again = fx.refresh(b.refresh_token);
    REQUIRE_FALSE(again.refused);
    CHECK(fx.verify(c.access_token).empty());
  }
}

TEST_CASE("idle sessions make room before the per-user limit evicts live ones",
          "[session_actor][policies]") {
  session_fixture fx([](config::settings& s) {
    s.auth.session_max_per_user = 2;
    s.auth.session_idle_timeout = 100;
  });
  auto a = fx.open();
  fx.advance(50);
  auto b = fx.open();
  fx.advance(60); // a is idle (110 s), b is not (60 s)
  auto c = fx.open();
  CHECK(revoked_reason(fx, a.session_id) == "idle_timeout");
  CHECK(revoked_reason(fx, b.session_id).empty());
  CHECK(fx.verify(b.access_token).empty());
  CHECK(fx.verify(c.access_token).empty());
  auto jobs = fx.query(db::stmt("SELECT COUNT(*) AS n FROM mail_jobs "
                                "WHERE template = 'session_evicted'"));
  CHECK(jobs.at(0, "n").i == 0);
}

TEST_CASE("custom claims come from app_metadata at every mint",
          "[session_actor][claims]") {
  session_fixture fx([](config::settings& s) {
    s.auth.access_token_claims = {{"role", "app_metadata.role"},
                                  {"org", "app_metadata.org.id"},
                                  {"missing", "app_metadata.nothing"}};
  });
  REQUIRE(fx.write(db::users_store::set_app_metadata(
                      fx.user.id, R"({"role":"editor","org":{"id":7}})", 0))
              .ok);
  auto t = fx.open();
  auto c = payload_of(t.access_token);
  CHECK(c["role"] == "editor");
  CHECK(c["org"] == 7);
  CHECK_FALSE(c.contains("missing"));
  CHECK(c["sub"] == fx.user.id);

  // A change of app_metadata shows in the next refreshed token.
  REQUIRE(fx.write(db::users_store::set_app_metadata(fx.user.id,
                                                     R"({"role":"admin"})", 0))
              .ok);
  auto r = fx.refresh(t.refresh_token);
  REQUIRE_FALSE(r.refused);
  auto c2 = payload_of(r.tokens.access_token);
  CHECK(c2["role"] == "admin");
  CHECK_FALSE(c2.contains("org"));
  CHECK(fx.verify(r.tokens.access_token).empty());
}

TEST_CASE("setting app_metadata of an unknown user fails the unit",
          "[session_actor][claims]") {
  session_fixture fx;
  auto r = fx.write(db::users_store::set_app_metadata("no-such-user", "{}", 0));
  CHECK_FALSE(r.ok);
  CHECK(r.fail_code == "not_found");
}
