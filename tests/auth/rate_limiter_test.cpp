#include <catch2/catch.hpp>

#include <string>

#include "auth/rate_limiter.hpp"

using namespace authsvc::auth;

namespace {

constexpr micros sec = 1'000'000;

/// An arbitrary, non-zero start so nothing depends on the epoch.
constexpr micros t0 = 1'700'000'000 * sec;

} // namespace

TEST_CASE("a limiter allows exactly N requests then rejects",
          "[auth][rate_limit]") {
  rate_limiter limiter(rate_policy{5, 3600}); // T = 720 s
  for (std::uint32_t i = 0; i < 5; ++i) {
    auto d = limiter.check("a@example.com", t0);
    CHECK(d.allowed);
    CHECK(d.limit == 5);
    CHECK(d.remaining == 4 - i);
    CHECK(d.retry_after_seconds == 0);
    CHECK(d.reset_after_seconds == 720 * (i + 1));
  }
  auto d = limiter.check("a@example.com", t0);
  CHECK_FALSE(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.retry_after_seconds == 720);
  CHECK(d.reset_after_seconds == 3600);
  SECTION("rejections do not consume") {
    for (int i = 0; i < 100; ++i)
      CHECK_FALSE(limiter.check("a@example.com", t0 + i * sec).allowed);
    auto later = limiter.check("a@example.com", t0 + 100 * sec);
    CHECK(later.retry_after_seconds == 620);
    CHECK(later.reset_after_seconds == 3500);
  }
  SECTION("retry-after is rounded up, never early") {
    auto almost = limiter.check("a@example.com", t0 + 720 * sec - 1);
    CHECK_FALSE(almost.allowed);
    CHECK(almost.retry_after_us == 1);
    CHECK(almost.retry_after_seconds == 1);
  }
}

TEST_CASE("a limiter recovers one request per interval", "[auth][rate_limit]") {
  rate_limiter limiter(rate_policy{30, 300}); // T = 10 s
  for (int i = 0; i < 30; ++i)
    REQUIRE(limiter.check("203.0.113.1", t0).allowed);
  CHECK_FALSE(limiter.check("203.0.113.1", t0 + 9 * sec).allowed);
  auto one = limiter.check("203.0.113.1", t0 + 10 * sec);
  CHECK(one.allowed);
  CHECK(one.remaining == 0);
  CHECK_FALSE(limiter.check("203.0.113.1", t0 + 10 * sec).allowed);
  // After the full period the whole burst is back.
  auto fresh = limiter.check("203.0.113.1", t0 + 310 * sec);
  CHECK(fresh.allowed);
  CHECK(fresh.remaining == 29);
  // A steady 1-per-T client is never rejected.
  for (int i = 1; i <= 100; ++i)
    CHECK(limiter.check("steady", t0 + i * 10 * sec).allowed);
}

TEST_CASE("separate keys do not interfere", "[auth][rate_limit]") {
  rate_limiter limiter(rate_policy{2, 60});
  CHECK(limiter.check("a", t0).allowed);
  CHECK(limiter.check("a", t0).allowed);
  CHECK_FALSE(limiter.check("a", t0).allowed);
  auto b = limiter.check("b", t0);
  CHECK(b.allowed);
  CHECK(b.remaining == 1);
  CHECK(limiter.peek("c", t0).remaining == 1);
  CHECK(limiter.size() == 2); // peek adds nothing
}

TEST_CASE("idle keys are swept", "[auth][rate_limit]") {
  rate_limiter limiter(rate_policy{10, 10});
  for (int i = 0; i < 100; ++i)
    limiter.check("k" + std::to_string(i), t0);
  CHECK(limiter.size() == 100);
  // Each check drops a few idle keys...
  limiter.check("other", t0 + 2 * sec);
  CHECK(limiter.size() < 101);
  CHECK(limiter.size() >= 90);
  // ...and a full sweep drops the rest.
  limiter.sweep(t0 + 2 * sec);
  CHECK(limiter.size() == 1);
}

TEST_CASE("memory stays bounded under a million distinct keys",
          "[auth][rate_limit]") {
  const std::size_t cap = 10'000;
  rate_limiter limiter(rate_policy{5, 3600}, cap);
  // The victim is in debt; the attacker floods distinct keys to flush it.
  for (int i = 0; i < 5; ++i)
    limiter.check("victim", t0);
  REQUIRE_FALSE(limiter.check("victim", t0).allowed);
  std::size_t max_seen = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    auto d = limiter.check("flood-" + std::to_string(i), t0 + i);
    REQUIRE(d.allowed);
    max_seen = std::max(max_seen, limiter.size());
  }
  CHECK(max_seen == cap);
  CHECK(limiter.size() == cap);
  // Fresh keys (one request each) carry less debt than the victim's full
  // burst, so they were evicted first and the victim is still limited.
  CHECK_FALSE(limiter.check("victim", t0 + 1'000'000).allowed);
}

TEST_CASE("check_all does not consume when one limit rejects",
          "[auth][rate_limit]") {
  limiter_set_config config;
  REQUIRE_FALSE(config.override_policy("email_send_per_address", "1/3600"));
  limiter_set set(config);
  std::vector<rate_check> request{
      {limit_class::global_per_ip, "203.0.113.9"},
      {limit_class::email_send_per_ip, "203.0.113.9"},
      {limit_class::email_send_per_address, "a@example.com"},
  };
  auto first = set.check_all(request, t0);
  CHECK(first.allowed);
  CHECK(first.limit == 1); // the tightest one
  CHECK(first.remaining == 0);
  auto second = set.check_all(request, t0 + sec);
  CHECK_FALSE(second.allowed);
  CHECK(second.limit == 1);
  CHECK(second.retry_after_seconds == 3599);
  // The IP limits were consumed once, not twice.
  CHECK(set.limiter(limit_class::email_send_per_ip)
            .peek("203.0.113.9", t0 + sec)
            .remaining
        == 28);
  CHECK(set.limiter(limit_class::global_per_ip)
            .peek("203.0.113.9", t0 + sec)
            .remaining
        == 599);
  SECTION("the longest wait is reported among several rejections") {
    limiter_set tight;
    for (int i = 0; i < 30; ++i)
      tight.check(limit_class::verify_per_ip, "x", t0);
    for (int i = 0; i < 5; ++i)
      tight.check(limit_class::email_send_per_address, "a", t0);
    auto d = tight.check_all({{limit_class::verify_per_ip, "x"},
                              {limit_class::email_send_per_address, "a"}},
                             t0);
    CHECK_FALSE(d.allowed);
    CHECK(d.retry_after_seconds == 720);
  }
  CHECK(set.check_all({}, t0).allowed);
}

TEST_CASE("limiter policies come from defaults and config overrides",
          "[auth][rate_limit]") {
  CHECK(default_policy(limit_class::email_send_per_address)
        == rate_policy{5, 3600});
  CHECK(default_policy(limit_class::email_send_per_ip)
        == rate_policy{30, 3600});
  CHECK(default_policy(limit_class::verify_per_ip) == rate_policy{30, 300});
  CHECK(default_policy(limit_class::refresh_per_ip) == rate_policy{150, 300});
  CHECK(default_policy(limit_class::webauthn_per_ip) == rate_policy{30, 300});
  CHECK(default_policy(limit_class::totp_per_ip) == rate_policy{30, 300});
  CHECK(default_policy(limit_class::global_per_ip) == rate_policy{600, 60});
  for (std::size_t i = 0; i < limit_class_count; ++i) {
    auto cls = static_cast<limit_class>(i);
    CHECK(parse_limit_class(to_string(cls)) == cls);
  }
  limiter_set_config config;
  CHECK_FALSE(config.override_policy("totp_per_ip", "10/60"));
  CHECK(config.policies[static_cast<std::size_t>(limit_class::totp_per_ip)]
        == rate_policy{10, 60});
  CHECK(config.override_policy("nope_per_ip", "10/60"));
  for (auto bad : {"0/60", "10/0", "10", "/60", "10/", "-1/60", "10/60s",
                   " 10/60", "10/99999999999"})
    CHECK(config.override_policy("totp_per_ip", bad));
  CHECK(to_string(*parse_rate_policy("30/300")) == "30/300");
}

TEST_CASE("without a verdict, on_timeout decides per route class",
          "[auth][rate_limit]") {
  using p = limiter_outage_policy;
  REQUIRE(parse_limiter_outage_policy("open") == p::open);
  REQUIRE(parse_limiter_outage_policy("closed") == p::closed);
  REQUIRE(parse_limiter_outage_policy("closed_for_sign_in")
          == p::closed_for_sign_in);
  CHECK_FALSE(parse_limiter_outage_policy("Open"));
  CHECK_FALSE(parse_limiter_outage_policy(""));
  SECTION("open lets everything through") {
    for (auto cls : {"", "verify", "totp", "webauthn", "email_send", "refresh"})
      CHECK(pass_without_verdict(p::open, cls));
  }
  SECTION("closed refuses everything") {
    for (auto cls : {"", "verify", "totp", "webauthn", "email_send", "refresh"})
      CHECK_FALSE(pass_without_verdict(p::closed, cls));
  }
  SECTION("closed_for_sign_in refuses where a limit guards secrets or mail") {
    for (auto cls : {"verify", "totp", "webauthn", "email_send"})
      CHECK_FALSE(pass_without_verdict(p::closed_for_sign_in, cls));
    for (auto cls : {"", "refresh"})
      CHECK(pass_without_verdict(p::closed_for_sign_in, cls));
  }
}
