#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth/sharded_rate_limiter.hpp"

using namespace authsvc::auth;

namespace {

constexpr micros sec = 1'000'000;
constexpr micros t0 = 1'700'000'000 * sec;

} // namespace

TEST_CASE("a sharded limiter keeps every key's limit exact",
          "[auth][rate_limit]") {
  sharded_rate_limiter limiter(rate_policy{5, 60}, 1000);
  for (int k = 0; k < 40; ++k) {
    auto key = "198.51.100." + std::to_string(k);
    for (int i = 0; i < 5; ++i)
      REQUIRE(limiter.check(key, t0).allowed);
    auto d = limiter.check(key, t0);
    CHECK_FALSE(d.allowed);
    CHECK(d.limit == 5);
    CHECK(d.retry_after_seconds >= 1);
    CHECK_FALSE(limiter.peek(key, t0).allowed);
  }
  // One period later every key has its burst back.
  CHECK(limiter.check("198.51.100.1", t0 + 60 * sec).allowed);
}

TEST_CASE("a sharded limiter is exact under concurrent callers",
          "[auth][rate_limit]") {
  sharded_rate_limiter limiter(rate_policy{1000, 3600}, 1000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (limiter.check("203.0.113.7", t0).allowed)
          allowed.fetch_add(1);
    });
  for (auto& t : threads)
    t.join();
  CHECK(allowed.load() == 1000);
}
