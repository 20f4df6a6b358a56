#pragma once
// The session actor on a manual clock against a real DB actor on a
// temporary SQLite file (the actor suite's fixture), with one user; shared
// by the session suites (refresh rotation, session policies). Tests wait on
// answers only: time moves by hand.
#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>

#include "actors/caf_errors.hpp"
#include "actors/session_actor.hpp"
#include "db/users_store.hpp"
#include "tests/actors/actor_fixture.hpp"

namespace authsvc::test {

/// A refresh's answer: the tokens, or the typed refusal.
struct refresh_answer {
  token_response tokens;
  std::optional<error> refused;
};

class session_fixture : public actor_fixture {
public:
  /// `tune` adjusts the settings before the session actor starts.
  explicit session_fixture(
      const std::function<void(config::settings&)>& tune = {}) {
    cfg->tokens.issuer = "https://auth.test";
    cfg->tokens.refresh_grace = 10;
    if (tune)
      tune(*cfg);
    user.id = "user-1";
    user.email = "alice@example.com";
    user.created_at = clock->unix_seconds();
    REQUIRE(write(db::users_store::insert(user, clock->unix_seconds())).ok);
    session_options o;
    o.cfg = cfg;
    o.keys = keys;
    o.tick_seconds = 3600; // no purge during a test
    o.clock = clock;
    o.directory = directory;
    sessions = track(
        sys.spawn(session_impl, o, db(), metrics_actor{recorder()}));
    wait_ready();
  }

  /// Signs the user in: a new session's first tokens.
  token_response open(const std::string& user_agent = "test-agent") {
    token_response out;
    self->request(
            sessions, answer_timeout,
            new_session{
                user, {"otp"}, "127.0.0.1", user_agent, {}, {}, {}, 0, {}, {}})
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
                  refresh_request{token, "127.0.0.1", "test-agent", {}, {}})
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

  session_actor sessions;
  user_info user;
  /// The view the actor publishes to the fronts (session_view_test.cpp).
  session_directory_ptr directory = std::make_shared<session_directory>();

private:
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
};

} // namespace authsvc::test
