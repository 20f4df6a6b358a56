#include <catch2/catch.hpp>

#include "auth/lockout.hpp"

using namespace authsvc::auth;

namespace {

constexpr std::int64_t t0 = 1'700'000'000;

lockout_state fail_times(lockout_state s, int n, std::int64_t now,
                         const lockout_policy& p) {
  for (int i = 0; i < n; ++i)
    s = on_failure(s, now, p);
  return s;
}

} // namespace

TEST_CASE("the tenth consecutive failure locks the account",
          "[auth][lockout]") {
  lockout_policy p;
  auto s = fail_times({}, 9, t0, p);
  CHECK(s.consecutive_failures == 9);
  CHECK_FALSE(is_locked(s, t0));
  s = on_failure(s, t0, p);
  CHECK(is_locked(s, t0));
  CHECK(s.locked_until == t0 + 900);
  CHECK(s.lockouts_so_far == 1);
  CHECK(s.consecutive_failures == 0);
  CHECK(is_locked(s, t0 + 899));
  CHECK_FALSE(is_locked(s, t0 + 900));
  SECTION("failures during a lock change nothing") {
    CHECK(fail_times(s, 50, t0 + 100, p) == s);
  }
  SECTION("success resets everything") {
    CHECK(on_success(s) == lockout_state{});
  }
}

TEST_CASE("lock durations grow geometrically up to the cap",
          "[auth][lockout]") {
  lockout_policy p;
  CHECK(lock_duration(0, p) == 900);
  CHECK(lock_duration(1, p) == 1800);
  CHECK(lock_duration(2, p) == 3600);
  CHECK(lock_duration(6, p) == 57'600);
  CHECK(lock_duration(7, p) == 86'400); // 115200 capped
  CHECK(lock_duration(4'000'000'000u, p) == 86'400);
  // Repeated attacks: each lock follows right after the previous one ends.
  lockout_state s;
  std::int64_t now = t0;
  std::int64_t expected[]
      = {900, 1800, 3600, 7200, 14'400, 28'800, 57'600, 86'400, 86'400};
  for (auto duration : expected) {
    s = fail_times(s, 10, now, p);
    CHECK(s.locked_until - now == duration);
    now = s.locked_until;
  }
}

TEST_CASE("earlier locks are forgiven after a quiet period",
          "[auth][lockout]") {
  lockout_policy p;
  auto s = fail_times({}, 20, t0, p);       // one lock at t0
  s = fail_times(s, 10, s.locked_until, p); // second lock, 1800 s
  CHECK(s.lockouts_so_far == 2);
  auto later = s.locked_until + p.cap_seconds;
  s = fail_times(s, 10, later, p);
  CHECK(s.locked_until == later + 900);
  CHECK(s.lockouts_so_far == 1);
}

TEST_CASE("a custom lockout policy is honoured", "[auth][lockout]") {
  lockout_policy p{3, 60, 3.0, 500};
  auto s = fail_times({}, 3, t0, p);
  CHECK(s.locked_until == t0 + 60);
  s = fail_times(s, 3, s.locked_until, p);
  CHECK(s.locked_until - (t0 + 60) == 180);
  s = fail_times(s, 3, s.locked_until, p);
  CHECK(s.locked_until - (t0 + 240) == 500);
}
