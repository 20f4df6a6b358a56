// The session actor's published view (issue 13: the fronts check tokens
// against it without a message). What the view answers must match what the
// actor would answer, and every change is in the view by the time the
// actor's answer to the changing request arrives: a revocation is refused
// by the view at once.
#include <catch2/catch.hpp>

#include <string>

#include "actors/session_errc.hpp"
#include "tests/actors/session_fixture.hpp"

using namespace authsvc;
using authsvc::test::session_fixture;

namespace {

std::int32_t revoke(session_fixture& fx, revocation rv) {
  std::int32_t n = -1;
  fx.self->request(fx.sessions, test::answer_timeout, atom::revoke_atom_v, rv)
      .receive([&](std::int32_t x) { n = x; },
               [&](caf::error& e) { FAIL(caf::to_string(e)); });
  return n;
}

std::optional<auth_context> check(session_fixture& fx, const std::string& t) {
  return fx.directory->check(t, fx.clock->unix_seconds(),
                             fx.cfg->auth.session_idle_timeout);
}

} // namespace

TEST_CASE("the view answers a token once the actor verified it, as the "
          "actor does",
          "[session_actor][view]") {
  session_fixture fx;
  auto t = fx.open();
  // Opening publishes the session; the token is published by its first
  // check, which therefore goes to the actor.
  CHECK(fx.directory->find_session(t.session_id));
  CHECK_FALSE(check(fx, t.access_token));
  REQUIRE(fx.verify(t.access_token).empty());
  auto a = check(fx, t.access_token);
  REQUIRE(a);
  CHECK(a->session_id == t.session_id);
  CHECK(a->user_id == fx.user.id);
  CHECK(a->user.email == "alice@example.com");
  CHECK(a->amr == std::vector<std::string>{"otp"});
  CHECK_FALSE(check(fx, t.access_token + "x"));
  CHECK_FALSE(check(fx, "not-a-token"));

  // A profile change reaches the view with the next message answered.
  auto u = fx.user;
  u.display_name = "Alice A.";
  caf::anon_send(fx.sessions, u);
  REQUIRE(fx.verify(t.access_token).empty());
  a = check(fx, t.access_token);
  REQUIRE(a);
  CHECK(a->user.display_name == "Alice A.");

  // Past the token's lifetime the view has no answer (the actor decides).
  fx.advance(fx.cfg->tokens.access_ttl + 1);
  CHECK_FALSE(check(fx, t.access_token));
}

TEST_CASE("a revocation is out of the view before the actor answers it",
          "[session_actor][view]") {
  session_fixture fx;
  auto a = fx.open("A");
  auto b = fx.open("B");
  auto c = fx.open("C");
  for (const auto* t : {&a, &b, &c})
    REQUIRE(fx.verify(t->access_token).empty());
  REQUIRE(check(fx, a.access_token));

  SECTION("one session") {
    CHECK(revoke(fx, {a.session_id, fx.user.id, {}, "logout", {}, {}, {}, {}})
          == 1);
    CHECK_FALSE(check(fx, a.access_token));
    CHECK(check(fx, b.access_token));
  }
  SECTION("all but one (logout others)") {
    CHECK(revoke(fx, {{}, fx.user.id, a.session_id, "logout", {}, {}, {}, {}})
          == 2);
    CHECK(check(fx, a.access_token));
    CHECK_FALSE(check(fx, b.access_token));
    CHECK_FALSE(check(fx, c.access_token));
  }
  SECTION("all of the user's (disable, delete, logout everywhere)") {
    CHECK(revoke(fx, {{}, fx.user.id, {}, "user_disabled", {}, {}, {}, {}})
          == 3);
    for (const auto* t : {&a, &b, &c})
      CHECK_FALSE(check(fx, t->access_token));
  }
  // The actor agrees.
  CHECK(fx.verify(b.access_token).empty()
        == check(fx, b.access_token).has_value());
}

TEST_CASE("a refresh reuse takes the family out of the view",
          "[session_actor][view]") {
  session_fixture fx;
  auto first = fx.open();
  auto r1 = fx.refresh(first.refresh_token);
  REQUIRE_FALSE(r1.refused);
  REQUIRE(fx.verify(r1.tokens.access_token).empty());
  REQUIRE(check(fx, r1.tokens.access_token));
  fx.advance(10); // past the grace window
  auto reused = fx.refresh(first.refresh_token);
  REQUIRE(reused.refused);
  CHECK(reused.refused->is(session_errc::refresh_token_reused));
  CHECK_FALSE(check(fx, r1.tokens.access_token));
  CHECK_FALSE(fx.directory->find_session(first.session_id));
}

TEST_CASE("an idle session is not answered by the view",
          "[session_actor][view]") {
  session_fixture fx(
      [](config::settings& s) { s.auth.session_idle_timeout = 60; });
  auto t = fx.open();
  REQUIRE(fx.verify(t.access_token).empty());
  fx.advance(59);
  CHECK(check(fx, t.access_token));
  fx.advance(1);
  // The view defers to the actor, which ends the session.
  CHECK_FALSE(check(fx, t.access_token));
  CHECK(fx.verify(t.access_token) == "unauthorized");
  CHECK_FALSE(fx.directory->find_session(t.session_id));
}

TEST_CASE("a sign-in beyond the session limit evicts from the view at once",
          "[session_actor][view]") {
  session_fixture fx(
      [](config::settings& s) { s.auth.session_max_per_user = 1; });
  auto a = fx.open("A");
  REQUIRE(fx.verify(a.access_token).empty());
  REQUIRE(check(fx, a.access_token));
  auto b = fx.open("B");
  CHECK_FALSE(check(fx, a.access_token));
  REQUIRE(fx.verify(b.access_token).empty());
  CHECK(check(fx, b.access_token));
}

TEST_CASE("checks answered by the view count as activity in session lists",
          "[session_actor][view]") {
  session_fixture fx;
  auto t = fx.open();
  REQUIRE(fx.verify(t.access_token).empty());
  fx.advance(30);
  REQUIRE(check(fx, t.access_token));
  std::vector<session_view> listed;
  fx.self
      ->request(fx.sessions, test::answer_timeout, atom::list_atom_v,
                fx.user.id)
      .receive([&](std::vector<session_view>& xs) { listed = std::move(xs); },
               [&](caf::error& e) { FAIL(caf::to_string(e)); });
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].last_seen_at == fx.clock->unix_seconds());
}
