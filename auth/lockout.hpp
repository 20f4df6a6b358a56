#pragma once
// Account lockout after repeated failed sign-in attempts, as pure policy:
// the caller stores the state (per user and factor) and passes the time.
#include <cstdint>

namespace authsvc::auth {

/// Lockout tuning. Durations in seconds.
struct lockout_policy {
  /// Consecutive failures that trigger a lock.
  std::uint32_t threshold = 10;
  /// Length of the first lock.
  std::int64_t base_seconds = 900;
  /// Each further lock lasts this many times longer than the previous one.
  double growth_factor = 2.0;
  /// No lock lasts longer than this (also the quiet period that forgives
  /// earlier locks, see on_failure).
  std::int64_t cap_seconds = 86'400;
};

/// What we remember about one account's failures. Times are unix seconds.
struct lockout_state {
  std::uint32_t consecutive_failures = 0;
  std::uint32_t lockouts_so_far = 0;
  /// Locked while `now < locked_until`; 0 when never locked.
  std::int64_t locked_until = 0;

  friend bool operator==(const lockout_state& a,
                         const lockout_state& b) noexcept {
    return a.consecutive_failures == b.consecutive_failures
           && a.lockouts_so_far == b.lockouts_so_far
           && a.locked_until == b.locked_until;
  }
};

/// True while the account is locked.
bool is_locked(const lockout_state& state, std::int64_t now) noexcept;

/// Length of lock number `index` (0-based):
/// min(cap, base * growth_factor^index), saturating instead of overflowing.
std::int64_t lock_duration(std::uint32_t index,
                           const lockout_policy& policy) noexcept;

/// Records one failed attempt.
/// - While locked, nothing changes: callers reject attempts on a locked
///   account without checking the credential, and a failure that slipped
///   through must not let an attacker stretch the lock.
/// - If a whole `cap_seconds` has passed since the last lock ended, earlier
///   locks are forgiven, so the next lock starts at `base_seconds` again.
/// - The failure that reaches `threshold` locks the account for
///   lock_duration(lockouts_so_far), counts the lock and starts counting
///   failures from zero.
lockout_state on_failure(lockout_state state, std::int64_t now,
                         const lockout_policy& policy) noexcept;

/// A successful sign-in (or an admin unlock) clears everything.
lockout_state on_success(const lockout_state& state) noexcept;

} // namespace authsvc::auth
