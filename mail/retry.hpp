#pragma once
// When to try a failed email again, and when to stop. Pure functions: the
// clock reading and the randomness come in as parameters, so the queue's
// behaviour is deterministic under test.
#include <chrono>
#include <cstdint>
#include <functional>

namespace authsvc::mail {

/// Tuning of the retry schedule.
struct retry_policy {
  /// Delay before the second attempt (before jitter).
  std::chrono::seconds first_delay{30};
  /// No delay grows beyond this (before jitter).
  std::chrono::seconds cap{3600};
  /// Share of each delay that is randomized, in [0, 1]: 0 = exact delays,
  /// 1 = "full jitter" (anywhere between 0 and the delay). The default
  /// spreads a burst of failures while keeping retries reasonably prompt.
  double jitter = 0.5;
  /// Stop retrying a message this long after it was queued.
  std::chrono::seconds deadline{std::chrono::hours{24}};
};

/// Uniform random numbers in [0, 1).
using random_source = std::function<double()>;

/// A random_source backed by the OS CSPRNG (auth::random_below).
random_source default_random_source();

/// The time of the next attempt after `attempt` attempts have failed.
/// The base delay is first_delay × 2^(attempt−1), capped at `cap`; the
/// jittered delay is base × (1 − jitter × u) for u from `random`, and never
/// less than one second.
/// @param attempt failed attempts so far, starting at 1 (0 counts as 1).
std::chrono::system_clock::time_point
next_attempt(std::uint32_t attempt, std::chrono::system_clock::time_point now,
             const retry_policy& policy, const random_source& random);

/// @returns whether a message queued at `created_at` is past the policy's
///          deadline at `now` and should fail permanently.
bool give_up(std::chrono::system_clock::time_point created_at,
             std::chrono::system_clock::time_point now,
             const retry_policy& policy = {});

} // namespace authsvc::mail
