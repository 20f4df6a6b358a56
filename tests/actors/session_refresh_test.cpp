// Refresh rotation in the session actor, on a manual clock: a rotated token
// presented within the grace window gets the same successor; after it, or
// when it is not the session's latest, it is a reuse that revokes the
// session. The session actor runs against a real DB actor on a temporary
// SQLite file; the test waits on answers only (time moves by hand).
#include <catch2/catch.hpp>

#include <string>

#include "actors/session_errc.hpp"
#include "tests/actors/session_fixture.hpp"

using namespace authsvc;
using authsvc::test::session_fixture;

TEST_CASE("a rotated refresh token within the grace window gets the same "
          "successor",
          "[session_actor][refresh]") {
  session_fixture fx;
  auto first = fx.open();
  auto r1 = fx.refresh(first.refresh_token);
  REQUIRE_FALSE(r1.refused);
  CHECK(r1.tokens.refresh_token != first.refresh_token);
  CHECK(r1.tokens.session_id == first.session_id);

  // A second tab presents the old token 9 s later: the same successor.
  fx.advance(9);
  auto again = fx.refresh(first.refresh_token);
  REQUIRE_FALSE(again.refused);
  CHECK(again.tokens.refresh_token == r1.tokens.refresh_token);
  CHECK(again.tokens.session_id == first.session_id);
  CHECK(fx.verify(again.tokens.access_token).empty());

  // The successor itself still rotates normally.
  auto r2 = fx.refresh(r1.tokens.refresh_token);
  REQUIRE_FALSE(r2.refused);
  CHECK(r2.tokens.refresh_token != r1.tokens.refresh_token);
}

TEST_CASE("a rotated refresh token after the grace window is a reuse that "
          "revokes the session",
          "[session_actor][refresh]") {
  session_fixture fx;
  auto first = fx.open();
  auto r1 = fx.refresh(first.refresh_token);
  REQUIRE_FALSE(r1.refused);
  REQUIRE(fx.verify(r1.tokens.access_token).empty());

  // The window is open while now - replaced_at < grace: 10 s is past it.
  fx.advance(10);
  auto reused = fx.refresh(first.refresh_token);
  REQUIRE(reused.refused);
  CHECK(reused.refused->is(session_errc::refresh_token_reused));

  // The whole family is dead: the live token and the access token too.
  auto live = fx.refresh(r1.tokens.refresh_token);
  REQUIRE(live.refused);
  CHECK(live.refused->is(session_errc::invalid_refresh_token));
  CHECK(fx.verify(r1.tokens.access_token) == "unauthorized");
}

TEST_CASE("within the grace window only the latest rotated token is "
          "forgiven",
          "[session_actor][refresh]") {
  session_fixture fx;
  auto first = fx.open();
  auto r1 = fx.refresh(first.refresh_token);
  REQUIRE_FALSE(r1.refused);
  fx.advance(1);
  auto r2 = fx.refresh(r1.tokens.refresh_token);
  REQUIRE_FALSE(r2.refused);

  // `first` was replaced by r1, which is no longer the live token: even
  // inside its window this is a copy being replayed.
  fx.advance(1);
  auto stale = fx.refresh(first.refresh_token);
  REQUIRE(stale.refused);
  CHECK(stale.refused->is(session_errc::refresh_token_reused));
  CHECK(fx.verify(r2.tokens.access_token) == "unauthorized");
}

TEST_CASE("malformed and unknown refresh tokens are refused with a typed "
          "error",
          "[session_actor][refresh]") {
  session_fixture fx;
  auto bad = fx.refresh("short");
  REQUIRE(bad.refused);
  CHECK(bad.refused->is(session_errc::invalid_refresh_token));
  auto unknown = fx.refresh(std::string(43, 'A'));
  REQUIRE(unknown.refused);
  CHECK(unknown.refused->is(session_errc::invalid_refresh_token));
}
