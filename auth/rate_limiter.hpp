#pragma once
// Keyed rate limiting with GCRA (the generic cell rate algorithm, ITU-T
// I.371), as a pure data structure: the rate-limiter actor owns one
// limiter_set and passes the time in.
//
// GCRA keeps one number per key, the theoretical arrival time (TAT): the
// moment the key's bucket would be empty again. A request at `now` is
// allowed when `max(TAT, now) + T - burst * T <= now`, where T = period / N
// is the emission interval; allowing it moves TAT forward by T. With
// burst = N this is a leaky bucket that lets N requests through at once and
// then one every T, with no window edges to game.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace authsvc::auth {

/// Time for rate limiting: microseconds since any fixed epoch. A monotonic
/// clock is best; a clock that steps back only makes a limiter more lenient
/// for the length of the step.
using micros = std::int64_t;

namespace defaults {

/// Upper bound on keys tracked per limiter (per route class). At roughly
/// 150 bytes per key, 100k keys cost about 15 MB per class.
constexpr std::size_t rate_limit_max_keys = 100'000;

/// Idle keys dropped on each check, so sweeping never stalls one request.
constexpr std::size_t rate_limit_sweep_batch = 4;

} // namespace defaults

/// "N requests per P seconds", with a burst of N.
struct rate_policy {
  std::uint32_t limit = 1;
  std::int64_t period_seconds = 1;

  /// limit >= 1 and 1 <= period_seconds <= 1 year.
  bool valid() const noexcept;

  friend bool operator==(const rate_policy& a, const rate_policy& b) noexcept {
    return a.limit == b.limit && a.period_seconds == b.period_seconds;
  }
};

/// Parses the config form `N/P` (P in seconds, e.g. `30/300`).
/// @returns nullopt unless both are plain decimals and the policy is valid.
std::optional<rate_policy> parse_rate_policy(std::string_view text);

/// `N/P`, the inverse of parse_rate_policy.
std::string to_string(const rate_policy& policy);

/// One verdict, shaped for the response headers: `RateLimit-Limit: limit`,
/// `RateLimit-Remaining: remaining`, `RateLimit-Reset: reset_after_seconds`
/// and, when rejected, `Retry-After: retry_after_seconds`. Seconds are
/// rounded up, so a client that waits that long is never rejected for being
/// early.
struct rate_decision {
  bool allowed = true;
  /// N of the policy.
  std::uint32_t limit = 0;
  /// Requests that would still pass right now, after this one.
  std::uint32_t remaining = 0;
  /// Until the full burst is available again (TAT - now).
  std::int64_t reset_after_seconds = 0;
  /// Until the next request can pass; 0 when allowed.
  std::int64_t retry_after_seconds = 0;
  /// The same two durations unrounded.
  micros reset_after_us = 0;
  micros retry_after_us = 0;
};

/// The emission interval T = period / N of a policy in microseconds, rounded
/// up: a limiter is then stricter by under a microsecond per request rather
/// than more lenient. The burst window is T * N.
micros emission_interval(const rate_policy& policy) noexcept;

/// One GCRA step for a key whose TAT is `tat` (nullopt: a key never seen or
/// forgotten) at `now`; when it allows and `new_tat` is given, stores the
/// TAT after this request there. Only differences of times matter, so any
/// epoch serves (the Redis backend passes offsets from its own clock).
/// @pre `policy.valid()`
rate_decision gcra_step(const rate_policy& policy, std::optional<micros> tat,
                        micros now, micros* new_tat = nullptr) noexcept;

/// A GCRA limiter for one policy over many keys (IP addresses, emails).
///
/// Memory is bounded by `max_keys` whatever the traffic:
/// - a key whose TAT is not after `now` is idle, and forgetting it changes
///   no future decision; each check drops up to a few idle keys (oldest TAT
///   first) and `sweep()` drops all of them;
/// - a new key arriving when the limiter is full evicts the key with the
///   earliest TAT (ties: least recently updated), i.e. the one with the
///   least limiting debt left.
/// So a flood of distinct keys can only make the limiter forget (a key it
/// evicted starts over with a full burst), never grow without bound; a key
/// deep in debt is the last to go.
///
/// Each check costs O(log n) and one string allocation for the key.
/// Not thread-safe: it belongs to one actor.
class rate_limiter {
public:
  // -- constructors -----------------------------------------------------------

  /// @pre `policy.valid()` and `max_keys >= 1`
  explicit rate_limiter(rate_policy policy,
                        std::size_t max_keys = defaults::rate_limit_max_keys);

  // order_ points into entries_' nodes: moving keeps the nodes, copying
  // would leave the copy pointing into the original.
  rate_limiter(const rate_limiter&) = delete;
  rate_limiter& operator=(const rate_limiter&) = delete;
  rate_limiter(rate_limiter&&) = default;
  rate_limiter& operator=(rate_limiter&&) = default;

  // -- properties -------------------------------------------------------------

  const rate_policy& policy() const noexcept { return policy_; }

  std::size_t max_keys() const noexcept { return max_keys_; }

  /// Keys currently tracked (always <= max_keys()).
  std::size_t size() const noexcept { return entries_.size(); }

  // -- checks -----------------------------------------------------------------

  /// Decides one request for `key` at `now` and, when allowed, consumes it.
  rate_decision check(std::string_view key, micros now);

  /// What check() would answer, without consuming or sweeping.
  rate_decision peek(std::string_view key, micros now) const;

  /// Drops every idle key (e.g. from a periodic timer).
  void sweep(micros now);

private:
  // -- member types -----------------------------------------------------------

  struct entry {
    micros tat;
    std::uint64_t seq;
  };

  /// (TAT, update sequence) -> key; the first element is the eviction victim.
  using order_map
      = std::map<std::pair<micros, std::uint64_t>, const std::string*>;

  // -- implementation ---------------------------------------------------------

  /// Applies GCRA to a key whose TAT is `tat` (nullopt for an unknown key).
  rate_decision decide(std::optional<micros> tat, micros now,
                       micros* new_tat) const noexcept;

  /// Drops up to `limit` idle keys.
  void sweep_some(micros now, std::size_t limit);

  // -- member variables -------------------------------------------------------

  rate_policy policy_;
  std::size_t max_keys_;

  /// The emission interval T in microseconds (rounded up).
  micros interval_;

  /// burst * T: how far ahead of `now` a TAT may run.
  micros window_;

  std::uint64_t next_seq_ = 0;

  std::unordered_map<std::string, entry> entries_;

  /// Pointers into entries_' keys, which stay valid across rehashing.
  order_map order_;
};

// -- named route classes ------------------------------------------------------

/// The route classes the HTTP front limits. The names are config keys.
enum class limit_class : std::uint8_t {
  email_send_per_address, ///< 5 per hour: mails to one address
  email_send_per_ip,      ///< 30 per hour: mails triggered by one client
  verify_per_ip,          ///< 30 per 5 min: code and link verification
  refresh_per_ip,         ///< 150 per 5 min: token refresh
  webauthn_per_ip,        ///< 30 per 5 min: passkey ceremonies
  totp_per_ip,            ///< 30 per 5 min: TOTP and recovery codes
  global_per_ip,          ///< 600 per minute: every request
};

/// Number of limit_class values.
constexpr std::size_t limit_class_count = 7;

/// The config name of a class, e.g. `verify_per_ip`.
std::string_view to_string(limit_class cls) noexcept;

/// Inverse of to_string.
std::optional<limit_class> parse_limit_class(std::string_view name) noexcept;

/// The built-in policy of a class (listed on limit_class).
rate_policy default_policy(limit_class cls) noexcept;

/// Policies for every class plus the per-limiter key cap.
struct limiter_set_config {
  std::array<rate_policy, limit_class_count> policies;
  std::size_t max_keys_per_limiter = defaults::rate_limit_max_keys;

  /// Starts from the default policies.
  limiter_set_config();

  /// Overrides one class from config text, e.g. ("verify_per_ip", "10/60").
  /// @returns an error naming the bad part, or nullopt when applied.
  std::optional<std::string> override_policy(std::string_view class_name,
                                             std::string_view value);
};

// -- without a verdict --------------------------------------------------------

/// What a request does when the limiter gives no verdict (it did not answer
/// in time, or is down): `rate_limit.on_timeout`.
enum class limiter_outage_policy : std::uint8_t {
  open,               ///< every request goes on, unlimited
  closed,             ///< every limited request is refused (503)
  closed_for_sign_in, ///< refused where a limit guards secrets or mail
};

/// Parses "open", "closed" or "closed_for_sign_in".
std::optional<limiter_outage_policy>
parse_limiter_outage_policy(std::string_view text) noexcept;

/// The route classes whose limit is the main brake on guessing a sign-in
/// secret (codes, links, TOTP and recovery codes, passkey ceremonies) or on
/// mailing someone: "verify", "totp", "webauthn", "email_send". Others (the
/// global ceiling alone, "refresh" of 256-bit tokens) only shed load.
bool guards_sign_in(std::string_view route_class) noexcept;

/// Decides a request the limiter gave no verdict for.
/// @param route_class the route's class as in the route table ("verify",
///        ...), empty when only the global per-IP ceiling applies
/// @returns true when the request may go on
bool pass_without_verdict(limiter_outage_policy policy,
                          std::string_view route_class) noexcept;

/// One limit to apply to a request: which class, keyed by what.
struct rate_check {
  limit_class cls;
  std::string_view key;
};

/// One limiter per route class.
class limiter_set {
public:
  explicit limiter_set(const limiter_set_config& config = {});

  /// Checks and consumes one class alone.
  rate_decision check(limit_class cls, std::string_view key, micros now);

  /// Checks several limits for one request; consumes from all of them only
  /// when all pass, so a request rejected by one limit does not burn the
  /// others' quota. The (class, key) pairs should be distinct.
  /// @returns the most restrictive decision: if any rejects, the rejection
  ///          with the longest wait; else the pass with the fewest remaining
  ///          (ties: the later reset). An empty list passes with limit 0.
  rate_decision check_all(const std::vector<rate_check>& checks, micros now);

  /// The limiter of one class (for sweeping and metrics).
  rate_limiter& limiter(limit_class cls) noexcept {
    return limiters_[static_cast<std::size_t>(cls)];
  }

private:
  std::vector<rate_limiter> limiters_;
};

} // namespace authsvc::auth
