// The pure half of the Redis backend (auth/redis_gcra, auth/redis_url): the
// script's arguments and how its replies become decisions. The script
// itself runs against a real redis-server in
// tests/integration/test_redis_limits.py.
#include <catch2/catch.hpp>

#include "auth/redis_gcra.hpp"
#include "auth/redis_url.hpp"

using namespace authsvc::auth;

TEST_CASE("a redis GCRA call names one key per limit with T and N*T",
          "[auth][rate_limit][redis]") {
  auto call = make_redis_gcra_call({{limit_class::global_per_ip, {600, 60}},
                                    {limit_class::verify_per_ip, {30, 300}}},
                                   "2001:db8:1:2::");
  REQUIRE(call.keys.size() == 2);
  CHECK(call.keys[0] == "pa:rl:{2001:db8:1:2::}:global_per_ip");
  CHECK(call.keys[1] == "pa:rl:{2001:db8:1:2::}:verify_per_ip");
  // T = 60 s / 600 = 100 ms; 300 s / 30 = 10 s; windows N * T.
  CHECK(call.args
        == std::vector<std::string>{"100000", "60000000", "10000000",
                                    "300000000"});
  // T rounds up as the in-memory limiter's: 7 per 1 s.
  auto odd = make_redis_gcra_call({{limit_class::totp_per_ip, {7, 1}}}, "x");
  CHECK(odd.args == std::vector<std::string>{"142858", "1000006"});
}

TEST_CASE("a redis GCRA reply decides as the in-memory limiter would",
          "[auth][rate_limit][redis]") {
  rate_policy p{3, 60}; // T = 20 s, window 60 s
  std::vector<rate_policy> one{p};
  rate_limiter mem(p);
  micros now = 5'000'000;
  // Walk the in-memory limiter and feed the script's view of the same
  // state (the TAT's offset from now, before the step) to the reader.
  for (int i = 0; i < 4; ++i) {
    // peek's reset is TAT' - now when it would allow (TAT' = max(TAT, now)
    // + T), max(TAT, now) - now when not.
    auto before = mem.peek("k", now);
    micros offset = before.allowed ? before.reset_after_us - 20'000'000
                                   : before.reset_after_us;
    auto expected = mem.check("k", now);
    auto got = read_redis_gcra_reply({expected.allowed ? 1 : 0, offset}, one);
    REQUIRE(got);
    CHECK(got->consumed == expected.allowed);
    REQUIRE(got->decisions.size() == 1);
    const auto& d = got->decisions[0];
    CHECK(d.allowed == expected.allowed);
    CHECK(d.remaining == expected.remaining);
    CHECK(d.reset_after_us == expected.reset_after_us);
    CHECK(d.retry_after_us == expected.retry_after_us);
    CHECK(d.retry_after_seconds == expected.retry_after_seconds);
  }
}

TEST_CASE("a redis GCRA reply that is not the script's is refused",
          "[auth][rate_limit][redis]") {
  std::vector<rate_policy> two{{600, 60}, {3, 60}};
  // Consumed: both allow. Not consumed: the second is full (offset = window).
  auto ok = read_redis_gcra_reply({1, 0, 0}, two);
  REQUIRE(ok);
  CHECK(ok->decisions[0].remaining == 599);
  CHECK(ok->decisions[1].remaining == 2);
  auto refused = read_redis_gcra_reply({0, 0, 60'000'000}, two);
  REQUIRE(refused);
  CHECK(refused->decisions[0].allowed);
  CHECK_FALSE(refused->decisions[1].allowed);
  CHECK(refused->decisions[1].retry_after_seconds == 20);
  CHECK_FALSE(read_redis_gcra_reply({1, 0}, two));       // too short
  CHECK_FALSE(read_redis_gcra_reply({1, 0, 0, 0}, two)); // too long
  CHECK_FALSE(read_redis_gcra_reply({2, 0, 0}, two));    // not a flag
  CHECK_FALSE(read_redis_gcra_reply({1, -1, 0}, two));   // negative
  CHECK_FALSE(
      read_redis_gcra_reply({1, 0, 60'000'000}, two)); // consumed a refusal
  CHECK_FALSE(read_redis_gcra_reply({0, 0, 0}, two));  // refused nothing
  CHECK_FALSE(read_redis_gcra_reply({}, two));
}

TEST_CASE("gcra_step is the in-memory limiter's decision",
          "[auth][rate_limit]") {
  rate_policy p{5, 10};
  rate_limiter mem(p);
  std::optional<micros> tat;
  for (micros now = 0; now < 20'000'000; now += 700'000) {
    micros next = 0;
    auto step = gcra_step(p, tat, now, &next);
    auto check = mem.check("k", now);
    CHECK(step.allowed == check.allowed);
    CHECK(step.remaining == check.remaining);
    CHECK(step.reset_after_us == check.reset_after_us);
    CHECK(step.retry_after_us == check.retry_after_us);
    if (step.allowed)
      tat = next;
  }
  CHECK(emission_interval(p) == 2'000'000);
}

TEST_CASE("redis URLs", "[auth][redis]") {
  std::string why;
  auto ep = parse_redis_url("redis://127.0.0.1", &why);
  REQUIRE(ep);
  CHECK(ep->host == "127.0.0.1");
  CHECK(ep->port == 6379);
  CHECK(ep->db == 0);
  CHECK(ep->password.empty());
  ep = parse_redis_url("redis://limits:s3cret@cache.internal:6380/2", &why);
  REQUIRE(ep);
  CHECK(ep->username == "limits");
  CHECK(ep->password == "s3cret");
  CHECK(ep->host == "cache.internal");
  CHECK(ep->port == 6380);
  CHECK(ep->db == 2);
  ep = parse_redis_url("redis://:pw@[::1]:7000/", &why);
  REQUIRE(ep);
  CHECK(ep->username.empty());
  CHECK(ep->password == "pw");
  CHECK(ep->host == "::1");
  CHECK(ep->port == 7000);
  for (const char* bad :
       {"rediss://h", "http://h", "redis://", "redis://h:0", "redis://h:70000",
        "redis://h:", "redis://h:x", "redis://h/db", "redis://user@h",
        "redis://:@h", "redis://[::1", "redis://[::1]x", "redis://h?x=1",
        "redis://h/1 2", "unix:///tmp/redis.sock"}) {
    why.clear();
    CHECK_FALSE(parse_redis_url(bad, &why));
    CHECK_FALSE(why.empty());
  }
  // The reason never repeats the URL (it may hold a password).
  CHECK_FALSE(parse_redis_url("redis://:topsecret@h:99999", &why));
  CHECK(why.find("topsecret") == std::string::npos);
}
