// Lockout windows over the manual clock: the account lockout policy
// (auth/lockout, pure) and the rate limiter actor's windows, the latter on
// CAF's deterministic test_coordinator (its jobs run when the test says so,
// its sweep timer fires only when the test triggers it).
#include "actor_fixture.hpp"

#include "actors/rate_limiter_actor.hpp"
#include "auth/lockout.hpp"

namespace {

using namespace authsvc;
using namespace std::chrono_literals;

} // namespace

TEST_CASE("an account lock lasts its window on the clock, grows with each "
          "lock and is forgiven after a quiet cap",
          "[lockout]") {
  manual_clock clk;
  auth::lockout_policy p;
  p.threshold = 3;
  p.base_seconds = 60;
  p.growth_factor = 2;
  p.cap_seconds = 3600;
  auto now = [&] { return clk.unix_seconds(); };
  auto fail_times = [&](auth::lockout_state s, int n) {
    for (int i = 0; i < n; ++i)
      s = auth::on_failure(s, now(), p);
    return s;
  };

  auto s = fail_times({}, 2);
  CHECK_FALSE(auth::is_locked(s, now()));
  s = fail_times(s, 1);
  REQUIRE(auth::is_locked(s, now()));
  CHECK(s.locked_until == now() + 60);

  // Failures while locked do not stretch the lock.
  s = fail_times(s, 5);
  CHECK(s.locked_until == now() + 60);

  clk.advance(59s);
  CHECK(auth::is_locked(s, now()));
  clk.advance(1s);
  CHECK_FALSE(auth::is_locked(s, now()));

  // The second lock lasts twice as long.
  s = fail_times(s, 3);
  REQUIRE(auth::is_locked(s, now()));
  CHECK(s.locked_until == now() + 120);
  clk.advance(119s);
  CHECK(auth::is_locked(s, now()));
  clk.advance(1s);
  CHECK_FALSE(auth::is_locked(s, now()));

  // A whole cap of quiet after the lock ended: the next lock is short again.
  clk.advance(3600s);
  s = fail_times(s, 3);
  REQUIRE(auth::is_locked(s, now()));
  CHECK(s.locked_until == now() + 60);

  // A success clears everything.
  CHECK(auth::on_success(s) == auth::lockout_state{});
}

TEST_CASE("the rate limiter actor refuses within the window and lets the "
          "client in again once the clock moved past retry_after",
          "[rate_limiter][lockout]") {
  test::actor_fixture fx{true};
  fx.cfg->rate_limit.policies["verify_per_ip"] = "3/60";
  auto limiter = fx.sys.spawn(
      rate_limiter_impl, std::shared_ptr<const config::settings>(fx.cfg),
      clock_ptr(fx.clock), std::shared_ptr<auth::sharded_rate_limiter>(),
      metrics_actor{});
  fx.sched->run();
  auto ask = [&](const std::string& ip) {
    rate_verdict v;
    auto h = fx.self->request(limiter, caf::infinite, atom::limit_atom_v,
                              rate_request{"verify", ip, ""});
    CHECK(fx.sched->run() > 0);
    h.receive([&](rate_verdict& x) { v = std::move(x); },
              [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return v;
  };

  // Three requests fit the burst; the fourth waits one emission interval.
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto v = ask("192.0.2.1");
    CHECK(v.allowed);
    CHECK(v.type == "verify_per_ip");
    CHECK(v.limit == 3);
    CHECK(v.remaining == 2 - i);
  }
  auto refused = ask("192.0.2.1");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.type == "verify_per_ip");
  CHECK(refused.retry_after == 20);
  CHECK(refused.audit); // the first refusal of this key in a minute
  CHECK_FALSE(ask("192.0.2.1").audit);
  // Another client has its own window.
  CHECK(ask("192.0.2.2").allowed);

  // Refused until the clock reaches retry_after, then one more request fits.
  fx.clock->advance(19s);
  CHECK_FALSE(ask("192.0.2.1").allowed);
  fx.clock->advance(1s);
  CHECK(ask("192.0.2.1").allowed);
  CHECK_FALSE(ask("192.0.2.1").allowed);

  // The sweep timer waits on the test clock; firing it re-arms it and
  // leaves the windows as they were.
  REQUIRE(fx.sched->has_pending_timeout());
  CHECK(fx.sched->trigger_timeouts() == 1);
  fx.sched->run();
  CHECK(fx.sched->has_pending_timeout());
  CHECK_FALSE(ask("192.0.2.1").allowed);
  fx.clock->advance(60s);
  CHECK(ask("192.0.2.1").allowed);

  caf::anon_send_exit(limiter, caf::exit_reason::user_shutdown);
  fx.sched->run();
}
