#include "mail/retry.hpp"

#include <algorithm>
#include <cmath>

#include "auth/crypto.hpp"

namespace authsvc::mail {

random_source default_random_source() {
  return [] {
    constexpr std::uint64_t range = std::uint64_t{1} << 53;
    return static_cast<double>(auth::random_below(range))
           / static_cast<double>(range);
  };
}

std::chrono::system_clock::time_point
next_attempt(std::uint32_t attempt, std::chrono::system_clock::time_point now,
             const retry_policy& policy, const random_source& random) {
  using namespace std::chrono;
  double first = static_cast<double>(
      std::max<seconds::rep>(policy.first_delay.count(), 1));
  double cap
      = static_cast<double>(std::max<seconds::rep>(policy.cap.count(), 1));
  // Doubling in floating point and capping before converting back keeps a
  // huge attempt number from overflowing the shift or the duration.
  auto exponent = static_cast<double>(std::max<std::uint32_t>(attempt, 1) - 1);
  double base = std::min(cap, first * std::pow(2.0, std::min(exponent, 62.0)));
  double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  double u = random ? std::clamp(random(), 0.0, 1.0) : 0.0;
  double delay = std::max(1.0, base * (1.0 - jitter * u));
  return now + milliseconds{static_cast<milliseconds::rep>(delay * 1000.0)};
}

bool give_up(std::chrono::system_clock::time_point created_at,
             std::chrono::system_clock::time_point now,
             const retry_policy& policy) {
  return now - created_at >= policy.deadline;
}

} // namespace authsvc::mail
