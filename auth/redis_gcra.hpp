#pragma once
// Per-IP limits shared by every node through Redis (rate_limit.backend =
// "redis", issue 14). All of one request's per-IP limits (the global
// ceiling and the route class's own) are one GCRA step in one Lua script,
// so checking and consuming is atomic in Redis whichever node asks, and a
// request refused by one limit burns none of the others (as
// limiter_set::check_all). This file is the protocol without the I/O: the
// script, the keys, the arguments and how a reply becomes decisions; the
// redis limiter actor does the talking.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/rate_limiter.hpp"

namespace authsvc::auth {

/// The Lua script, run with EVALSHA (SCRIPT LOAD once per connection).
/// KEYS: one per limit. ARGV: per key its emission interval T and burst
/// window N*T in microseconds (emission_interval), so the rounding is the
/// in-memory limiter's. The time is Redis's own (TIME): nodes whose clocks
/// differ still share one timeline. The reply is {consumed, offset_1, ...,
/// offset_n} with offset_i = max(TAT_i, now) - now before this step (0 for
/// a key Redis does not hold). A key written expires when its TAT passes
/// (PX): an idle client costs Redis nothing, and forgetting it changes no
/// decision.
std::string_view redis_gcra_script() noexcept;

/// The Redis key of one limit of one client: `pa:rl:{CLIENT}:CLASS`. The
/// braces are a Redis Cluster hash tag: every key of one request lands in
/// one slot, as a multi-key script needs.
std::string redis_rate_key(limit_class cls, std::string_view client_key);

/// One EVALSHA's KEYS and ARGV.
struct redis_gcra_call {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

/// The call for `limits` (class and its policy) of one client.
/// @pre every policy is valid
redis_gcra_call make_redis_gcra_call(
    const std::vector<std::pair<limit_class, rate_policy>>& limits,
    std::string_view client_key);

/// What a reply says: whether the step consumed, and one decision per limit
/// (in the call's order) as rate_limiter would answer: check() when
/// consumed, peek() when not.
struct redis_gcra_result {
  bool consumed = false;
  std::vector<rate_decision> decisions;
};

/// Reads the script's reply for a call made with `policies`.
/// @returns nullopt unless it holds 1 + policies.size() integers, the
///          offsets non-negative and `consumed` 1 exactly when every limit
///          allows (anything else is not our script's answer)
std::optional<redis_gcra_result>
read_redis_gcra_reply(const std::vector<std::int64_t>& reply,
                      const std::vector<rate_policy>& policies);

} // namespace authsvc::auth
