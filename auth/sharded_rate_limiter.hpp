#pragma once
// A rate_limiter many threads can call at once (issue 13: the HTTP fronts
// check the global per-IP ceiling themselves instead of messaging the
// limiter actor). Keys are spread over shards, each its own limiter under
// its own mutex: one key always lands in the same shard, so every key's
// limit stays exact; threads only contend when two keys share a shard.
#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>

#include "auth/rate_limiter.hpp"

namespace authsvc::auth {

class sharded_rate_limiter {
public:
  static constexpr std::size_t shard_count = 16;

  /// `max_keys` in all (each shard keeps up to max_keys / shard_count,
  /// at least one).
  sharded_rate_limiter(rate_policy policy, std::size_t max_keys);

  /// rate_limiter::check of the key's shard.
  rate_decision check(std::string_view key, micros now);

  /// rate_limiter::peek of the key's shard.
  rate_decision peek(std::string_view key, micros now) const;

  /// Drops every idle key of every shard.
  void sweep(micros now);

  const rate_policy& policy() const noexcept { return policy_; }

private:
  struct shard {
    mutable std::mutex m;
    std::unique_ptr<rate_limiter> limiter;
  };
  shard& shard_of(std::string_view key) const;

  rate_policy policy_;
  mutable std::array<shard, shard_count> shards_;
};

} // namespace authsvc::auth
