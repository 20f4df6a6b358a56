#include "auth/lockout.hpp"

#include <algorithm>

namespace authsvc::auth {

bool is_locked(const lockout_state& state, std::int64_t now) noexcept {
  return now < state.locked_until;
}

std::int64_t lock_duration(std::uint32_t index,
                           const lockout_policy& policy) noexcept {
  auto cap = std::max<std::int64_t>(policy.cap_seconds, 0);
  double duration
      = static_cast<double>(std::max<std::int64_t>(policy.base_seconds, 0));
  // Multiply step by step and stop at the cap: pow() of a large index would
  // overflow before the clamp.
  for (std::uint32_t i = 0; i < index && duration < static_cast<double>(cap);
       ++i)
    duration *= std::max(policy.growth_factor, 1.0);
  return std::min(cap, static_cast<std::int64_t>(
                           std::min(duration, static_cast<double>(cap))));
}

lockout_state on_failure(lockout_state state, std::int64_t now,
                         const lockout_policy& policy) noexcept {
  if (is_locked(state, now))
    return state;
  if (state.lockouts_so_far > 0
      && now - state.locked_until >= policy.cap_seconds)
    state.lockouts_so_far = 0;
  ++state.consecutive_failures;
  if (state.consecutive_failures
      >= std::max<std::uint32_t>(policy.threshold, 1)) {
    state.locked_until = now + lock_duration(state.lockouts_so_far, policy);
    ++state.lockouts_so_far;
    state.consecutive_failures = 0;
  }
  return state;
}

lockout_state on_success(const lockout_state&) noexcept {
  return lockout_state{};
}

} // namespace authsvc::auth
