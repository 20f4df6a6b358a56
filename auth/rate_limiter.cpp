#include "auth/rate_limiter.hpp"

#include <algorithm>
#include <cassert>

namespace authsvc::auth {

namespace {

constexpr micros one_second = 1'000'000;

/// Rounds a duration up to whole seconds (never negative).
std::int64_t ceil_seconds(micros us) noexcept {
  if (us <= 0)
    return 0;
  return (us + one_second - 1) / one_second;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 10)
    return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

constexpr std::array<std::string_view, limit_class_count> class_names{
    "email_send_per_address", "email_send_per_ip", "verify_per_ip",
    "refresh_per_ip",         "webauthn_per_ip",   "totp_per_ip",
    "global_per_ip",
};

constexpr std::array<rate_policy, limit_class_count> class_defaults{
    rate_policy{5, 3600},  rate_policy{30, 3600}, rate_policy{30, 300},
    rate_policy{150, 300}, rate_policy{30, 300},  rate_policy{30, 300},
    rate_policy{600, 60},
};

/// Orders decisions from least to most restrictive.
bool more_restrictive(const rate_decision& a, const rate_decision& b) {
  if (a.allowed != b.allowed)
    return !a.allowed;
  if (!a.allowed)
    return a.retry_after_us > b.retry_after_us
           || (a.retry_after_us == b.retry_after_us
               && a.reset_after_us > b.reset_after_us);
  return a.remaining < b.remaining
         || (a.remaining == b.remaining && a.reset_after_us > b.reset_after_us);
}

} // namespace

// -- rate_policy --------------------------------------------------------------

bool rate_policy::valid() const noexcept {
  return limit >= 1 && period_seconds >= 1
         && period_seconds <= std::int64_t{366} * 86400;
}

std::optional<rate_policy> parse_rate_policy(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  auto limit = parse_decimal(text.substr(0, slash));
  auto period = parse_decimal(text.substr(slash + 1));
  if (!limit || !period || *limit > 1'000'000'000)
    return std::nullopt;
  rate_policy result{static_cast<std::uint32_t>(*limit),
                     static_cast<std::int64_t>(*period)};
  if (!result.valid())
    return std::nullopt;
  return result;
}

std::string to_string(const rate_policy& policy) {
  return std::to_string(policy.limit) + '/'
         + std::to_string(policy.period_seconds);
}

namespace {

/// GCRA with the policy's numbers worked out (see rate_limiter.hpp).
rate_decision step(std::uint32_t limit, micros interval, micros window,
                   std::optional<micros> tat, micros now,
                   micros* new_tat) noexcept {
  rate_decision result;
  result.limit = limit;
  micros base = tat ? std::max(*tat, now) : now;
  micros next = base + interval;
  micros allow_at = next - window;
  if (now < allow_at) {
    result.allowed = false;
    result.remaining = 0;
    result.retry_after_us = allow_at - now;
    result.reset_after_us = base - now;
  } else {
    result.allowed = true;
    result.remaining = static_cast<std::uint32_t>((now - allow_at) / interval);
    result.retry_after_us = 0;
    result.reset_after_us = next - now;
    if (new_tat != nullptr)
      *new_tat = next;
  }
  result.retry_after_seconds = ceil_seconds(result.retry_after_us);
  result.reset_after_seconds = ceil_seconds(result.reset_after_us);
  return result;
}

} // namespace

micros emission_interval(const rate_policy& policy) noexcept {
  auto period = policy.period_seconds * one_second;
  return (period + policy.limit - 1) / policy.limit;
}

rate_decision gcra_step(const rate_policy& policy, std::optional<micros> tat,
                        micros now, micros* new_tat) noexcept {
  auto interval = emission_interval(policy);
  return step(policy.limit, interval, interval * policy.limit, tat, now,
              new_tat);
}

// -- rate_limiter -------------------------------------------------------------

rate_limiter::rate_limiter(rate_policy policy, std::size_t max_keys)
    : policy_(policy), max_keys_(std::max<std::size_t>(max_keys, 1)) {
  assert(policy.valid());
  interval_ = emission_interval(policy);
  window_ = interval_ * policy.limit;
}

rate_decision rate_limiter::decide(std::optional<micros> tat, micros now,
                                   micros* new_tat) const noexcept {
  return step(policy_.limit, interval_, window_, tat, now, new_tat);
}

rate_decision rate_limiter::peek(std::string_view key, micros now) const {
  auto i = entries_.find(std::string(key));
  std::optional<micros> tat;
  if (i != entries_.end())
    tat = i->second.tat;
  return decide(tat, now, nullptr);
}

rate_decision rate_limiter::check(std::string_view key, micros now) {
  sweep_some(now, defaults::rate_limit_sweep_batch);
  std::string owned(key);
  auto i = entries_.find(owned);
  std::optional<micros> tat;
  if (i != entries_.end())
    tat = i->second.tat;
  micros new_tat = 0;
  auto result = decide(tat, now, &new_tat);
  if (!result.allowed)
    return result;
  if (i != entries_.end()) {
    order_.erase({i->second.tat, i->second.seq});
  } else {
    if (entries_.size() >= max_keys_) {
      // Full: forget the key with the least debt (see the class notes).
      auto victim = order_.begin();
      entries_.erase(*victim->second);
      order_.erase(victim);
    }
    i = entries_.emplace(std::move(owned), entry{0, 0}).first;
  }
  i->second = entry{new_tat, next_seq_++};
  order_.emplace(std::make_pair(new_tat, i->second.seq), &i->first);
  return result;
}

void rate_limiter::sweep_some(micros now, std::size_t limit) {
  while (limit-- > 0 && !order_.empty() && order_.begin()->first.first <= now) {
    auto first = order_.begin();
    entries_.erase(*first->second);
    order_.erase(first);
  }
}

void rate_limiter::sweep(micros now) {
  sweep_some(now, entries_.size());
}

// -- limit classes ------------------------------------------------------------

std::string_view to_string(limit_class cls) noexcept {
  return class_names[static_cast<std::size_t>(cls)];
}

std::optional<limit_class> parse_limit_class(std::string_view name) noexcept {
  for (std::size_t i = 0; i < class_names.size(); ++i)
    if (class_names[i] == name)
      return static_cast<limit_class>(i);
  return std::nullopt;
}

rate_policy default_policy(limit_class cls) noexcept {
  return class_defaults[static_cast<std::size_t>(cls)];
}

limiter_set_config::limiter_set_config() : policies(class_defaults) {
  // nop
}

std::optional<std::string>
limiter_set_config::override_policy(std::string_view class_name,
                                    std::string_view value) {
  auto cls = parse_limit_class(class_name);
  if (!cls)
    return "unknown rate limit class '" + std::string(class_name) + "'";
  auto policy = parse_rate_policy(value);
  if (!policy)
    return "rate limit '" + std::string(class_name)
           + "' must be N/SECONDS with N >= 1, got '" + std::string(value)
           + "'";
  policies[static_cast<std::size_t>(*cls)] = *policy;
  return std::nullopt;
}

// -- limiter_set --------------------------------------------------------------

limiter_set::limiter_set(const limiter_set_config& config) {
  limiters_.reserve(limit_class_count);
  for (const auto& policy : config.policies)
    limiters_.emplace_back(policy, config.max_keys_per_limiter);
}

rate_decision limiter_set::check(limit_class cls, std::string_view key,
                                 micros now) {
  return limiter(cls).check(key, now);
}

rate_decision limiter_set::check_all(const std::vector<rate_check>& checks,
                                     micros now) {
  rate_decision worst;
  bool first = true;
  // Look first, so that a rejection leaves every limit untouched.
  for (const auto& c : checks) {
    auto d = limiter(c.cls).peek(c.key, now);
    if (first || more_restrictive(d, worst))
      worst = d;
    first = false;
  }
  if (!worst.allowed)
    return worst;
  first = true;
  for (const auto& c : checks) {
    // Same `now`, nothing in between: the consuming check agrees with peek.
    auto d = limiter(c.cls).check(c.key, now);
    if (first || more_restrictive(d, worst))
      worst = d;
    first = false;
  }
  return worst;
}

std::optional<limiter_outage_policy>
parse_limiter_outage_policy(std::string_view text) noexcept {
  if (text == "open")
    return limiter_outage_policy::open;
  if (text == "closed")
    return limiter_outage_policy::closed;
  if (text == "closed_for_sign_in")
    return limiter_outage_policy::closed_for_sign_in;
  return std::nullopt;
}

bool guards_sign_in(std::string_view route_class) noexcept {
  return route_class == "verify" || route_class == "totp"
         || route_class == "webauthn" || route_class == "email_send";
}

bool pass_without_verdict(limiter_outage_policy policy,
                          std::string_view route_class) noexcept {
  switch (policy) {
  case limiter_outage_policy::open:
    return true;
  case limiter_outage_policy::closed:
    return false;
  case limiter_outage_policy::closed_for_sign_in:
    return !guards_sign_in(route_class);
  }
  return false;
}

} // namespace authsvc::auth
