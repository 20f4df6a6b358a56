#include "auth/sharded_rate_limiter.hpp"

#include <algorithm>
#include <functional>

namespace authsvc::auth {

sharded_rate_limiter::sharded_rate_limiter(rate_policy policy,
                                           std::size_t max_keys)
    : policy_(policy) {
  auto per_shard = std::max<std::size_t>(1, max_keys / shard_count);
  for (auto& s : shards_)
    s.limiter = std::make_unique<rate_limiter>(policy, per_shard);
}

sharded_rate_limiter::shard&
sharded_rate_limiter::shard_of(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % shard_count];
}

rate_decision sharded_rate_limiter::check(std::string_view key, micros now) {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> lock{s.m};
  return s.limiter->check(key, now);
}

rate_decision sharded_rate_limiter::peek(std::string_view key,
                                         micros now) const {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> lock{s.m};
  return s.limiter->peek(key, now);
}

void sharded_rate_limiter::sweep(micros now) {
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock{s.m};
    s.limiter->sweep(now);
  }
}

} // namespace authsvc::auth
