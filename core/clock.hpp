#pragma once
// The service's one source of time. Every actor, flow and handler that reads
// the time asks a clock it was given (services::clock, or its options), so a
// test can hand in a manual_clock and move time by hand instead of sleeping.
// Two readings: wall time (expiry columns, token iat/exp, audit timestamps)
// and monotonic time (durations, deadlines, metrics), which never jumps back.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace authsvc {

class clock {
public:
  virtual ~clock() = default;

  /// Wall time: milliseconds since the Unix epoch.
  virtual std::int64_t unix_ms() const = 0;

  /// Monotonic time in nanoseconds since an arbitrary origin.
  virtual std::int64_t steady_ns() const = 0;

  /// Wall time in whole seconds (what the schema stores).
  std::int64_t unix_seconds() const { return unix_ms() / 1000; }
};

using clock_ptr = std::shared_ptr<const clock>;

/// The real clocks of the machine (one shared instance).
clock_ptr real_clock();

/// A clock that moves only when a test tells it to. Thread-safe: the test
/// thread advances it while actors read it.
class manual_clock : public clock {
public:
  /// Starts at `unix_ms` wall time and steady time 0.
  explicit manual_clock(std::int64_t unix_ms = 1'700'000'000'000)
      : unix_ms_(unix_ms) {}

  std::int64_t unix_ms() const override { return unix_ms_.load(); }
  std::int64_t steady_ns() const override { return steady_ns_.load(); }

  /// Moves both readings forward by `d`.
  void advance(std::chrono::nanoseconds d) {
    steady_ns_ += d.count();
    unix_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }

private:
  std::atomic<std::int64_t> unix_ms_;
  std::atomic<std::int64_t> steady_ns_{0};
};

} // namespace authsvc
