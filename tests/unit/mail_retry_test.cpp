#include <catch2/catch.hpp>

#include "mail/retry.hpp"

using namespace authsvc::mail;
using namespace std::chrono;

namespace {

const system_clock::time_point t0{seconds{1'700'000'000}};

seconds delay_of(std::uint32_t attempt, const retry_policy& p, double u) {
  return duration_cast<seconds>(next_attempt(attempt, t0, p, [u] { return u; })
                                - t0);
}

} // namespace

TEST_CASE("retry delays double from 30 s up to an hour", "[mail][retry]") {
  retry_policy p;
  p.jitter = 0;
  CHECK(delay_of(0, p, 0.7) == seconds{30});
  CHECK(delay_of(1, p, 0.7) == seconds{30});
  CHECK(delay_of(2, p, 0.7) == seconds{60});
  CHECK(delay_of(3, p, 0.7) == seconds{120});
  CHECK(delay_of(7, p, 0.7) == seconds{1920});
  CHECK(delay_of(8, p, 0.7) == seconds{3600});
  CHECK(delay_of(1000, p, 0.7) == seconds{3600});
  CHECK(delay_of(UINT32_MAX, p, 0.7) == seconds{3600});
}

TEST_CASE("jitter shortens delays by at most its share", "[mail][retry]") {
  retry_policy p;
  SECTION("partial jitter") {
    p.jitter = 0.5;
    CHECK(delay_of(3, p, 0.0) == seconds{120});
    CHECK(delay_of(3, p, 0.5) == seconds{90});
    CHECK(delay_of(3, p, 0.999) >= seconds{60});
  }
  SECTION("full jitter") {
    p.jitter = 1.0;
    CHECK(delay_of(3, p, 0.25) == seconds{90});
    // Never zero: a failing relay is not hammered in a tight loop.
    CHECK(delay_of(3, p, 0.99999) >= seconds{1});
  }
  SECTION("the default random source stays within bounds") {
    auto rnd = default_random_source();
    for (int i = 0; i < 200; ++i) {
      auto d = next_attempt(5, t0, p, rnd) - t0;
      CHECK(d >= seconds{240});
      CHECK(d <= seconds{480});
    }
  }
}

TEST_CASE("a message is given up after its deadline", "[mail][retry]") {
  CHECK_FALSE(give_up(t0, t0));
  CHECK_FALSE(give_up(t0, t0 + hours{23} + minutes{59}));
  CHECK(give_up(t0, t0 + hours{24}));
  retry_policy p;
  p.deadline = minutes{10};
  CHECK(give_up(t0, t0 + minutes{11}, p));
}
