// Refresh rotation in the session actor, on a manual clock: a rotated token
// presented within the grace window gets the same successor; after it, or
// when it is not the session's latest, it is a reuse that revokes the
// session. The session actor runs against a real DB actor on a temporary
// SQLite file; the test waits on answers only (time moves by hand).
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>

#include <caf/all.hpp>

#include "actors/caf_errors.hpp"
#include "actors/db_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/session_errc.hpp"
#include "actors/type_ids.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "db/users_store.hpp"
#include "tests/unit/mail_test_support.hpp"

namespace {

using namespace authsvc;

/// Bounds a broken test only: a passing one never waits for it.
constexpr auto answer_timeout = std::chrono::seconds(5);

/// A fresh folder under $TMPDIR, removed at scope end.
using mail::test::temp_dir;

/// A refresh's answer: the tokens, or the typed refusal.
struct refresh_answer {
  token_response tokens;
  std::optional<error> refused;
};

class session_fixture {
public:
  session_fixture()
      : clock(std::make_shared<manual_clock>()), cfg(make_settings(dir)),
        keys(std::make_shared<const key_ring>(key_ring::derive(
            "session-test-master-secret-0123456789abcdef0123456789"))),
        sys(init(acfg)), self(sys, true) {
    db = sys.spawn<caf::detached>(
        db_impl, db_options{cfg->database.path, "normal", 5000},
        metrics_actor{});
    wait_migrated();
    user.id = "user-1";
    user.email = "alice@example.com";
    user.created_at = clock->unix_seconds();
    write(db::users_store::insert(user, clock->unix_seconds()));
    session_options o;
    o.cfg = cfg;
    o.keys = keys;
    o.tick_seconds = 3600; // no purge during a test
    o.clock = clock;
    sessions = sys.spawn(session_impl, o, db, metrics_actor{});
    wait_ready();
  }

  ~session_fixture() {
    caf::anon_send_exit(sessions, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(db, caf::exit_reason::user_shutdown);
    sessions = nullptr;
    db = nullptr;
  }

  /// Signs the user in: a new session's first tokens.
  token_response open() {
    token_response out;
    self->request(sessions, answer_timeout,
                  new_session{user, {"otp"}, "127.0.0.1", "test-agent", {}})
        .receive(
            [&](token_result& r) {
              REQUIRE(r.error.empty());
              out = std::move(r.tokens);
            },
            [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }

  refresh_answer refresh(const std::string& token) {
    refresh_answer out;
    self->request(sessions, answer_timeout, atom::refresh_atom_v,
                  refresh_request{token, "127.0.0.1", "test-agent"})
        .receive([&](token_result& r) { out.tokens = std::move(r.tokens); },
                 [&](caf::error& e) { out.refused = from_caf(e); });
    return out;
  }

  /// The api code style outcome of checking an access token ("" = valid).
  std::string verify(const std::string& access_token) {
    std::string out = "no answer";
    self->request(sessions, answer_timeout, atom::verify_atom_v, access_token)
        .receive([&](auth_result& r) { out = r.error; },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }

  void advance(std::int64_t seconds) {
    clock->advance(std::chrono::seconds(seconds));
  }

  temp_dir dir;
  std::shared_ptr<manual_clock> clock;
  std::shared_ptr<config::settings> cfg;
  std::shared_ptr<const key_ring> keys;
  caf::actor_system_config acfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  db_actor db;
  session_actor sessions;
  user_info user;

private:
  static caf::actor_system_config& init(caf::actor_system_config& c) {
    static bool logging = (log::init("off", "json"), true);
    (void)logging;
    register_types(c);
    c.set("logger.file-verbosity", caf::atom("quiet"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    c.set("scheduler.max-threads", 2);
    return c;
  }

  static std::shared_ptr<config::settings> make_settings(const temp_dir& d) {
    auto s = std::make_shared<config::settings>();
    s->database.path = (d.path() / "auth.db").string();
    s->tokens.issuer = "https://auth.test";
    s->tokens.refresh_grace = 10;
    return s;
  }

  void wait_migrated() {
    for (int i = 0; i < 1000; ++i) {
      db::status st;
      self->request(db, answer_timeout, atom::status_atom_v)
          .receive([&](db::status& s) { st = std::move(s); },
                   [&](caf::error& e) { FAIL(caf::to_string(e)); });
      if (st.migrated)
        return;
      REQUIRE(st.last_error.empty());
    }
    FAIL("the database never became ready");
  }

  void wait_ready() {
    // Loading is a few round trips to the DB actor; each ask is answered
    // at once, so this spins on answers, not on time.
    for (int i = 0; i < 100000; ++i) {
      bool ready = false;
      self->request(sessions, answer_timeout, atom::ready_atom_v)
          .receive([&](bool r) { ready = r; },
                   [&](caf::error& e) { FAIL(caf::to_string(e)); });
      if (ready)
        return;
    }
    FAIL("the session actor never became ready");
  }

  void write(db::statement s) {
    db::unit u;
    u.statements.push_back(std::move(s));
    self->request(db, answer_timeout, atom::write_atom_v, std::move(u))
        .receive([&](db::unit_result& r) { REQUIRE(r.ok); },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
  }
};

} // namespace

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
