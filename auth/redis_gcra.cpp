#include "auth/redis_gcra.hpp"

namespace authsvc::auth {

std::string_view redis_gcra_script() noexcept {
  // Lua numbers are doubles: microseconds since 1970 (~1.8e15) stay exact
  // below 2^53. Nothing is written unless every key allows.
  static constexpr std::string_view script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local offsets = {}
local pass = 1
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  local offset = 0
  if tat and tat > now then offset = tat - now end
  offsets[i] = offset
  if offset + interval > window then pass = 0 end
end
if pass == 1 then
  for i = 1, #KEYS do
    local next_offset = offsets[i] + tonumber(ARGV[2 * i - 1])
    redis.call('SET', KEYS[i], string.format('%d', now + next_offset),
               'PX', math.ceil(next_offset / 1000))
  end
end
local reply = {pass}
for i = 1, #offsets do reply[i + 1] = offsets[i] end
return reply
)lua";
  return script;
}

std::string redis_rate_key(limit_class cls, std::string_view client_key) {
  std::string key = "pa:rl:{";
  key += client_key;
  key += "}:";
  key += to_string(cls);
  return key;
}

redis_gcra_call make_redis_gcra_call(
    const std::vector<std::pair<limit_class, rate_policy>>& limits,
    std::string_view client_key) {
  redis_gcra_call call;
  for (const auto& [cls, policy] : limits) {
    auto interval = emission_interval(policy);
    call.keys.push_back(redis_rate_key(cls, client_key));
    call.args.push_back(std::to_string(interval));
    call.args.push_back(std::to_string(interval * policy.limit));
  }
  return call;
}

std::optional<redis_gcra_result>
read_redis_gcra_reply(const std::vector<std::int64_t>& reply,
                      const std::vector<rate_policy>& policies) {
  if (reply.size() != policies.size() + 1 || (reply[0] != 0 && reply[0] != 1))
    return std::nullopt;
  redis_gcra_result result;
  result.consumed = reply[0] == 1;
  bool all_allow = true;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    auto offset = reply[i + 1];
    if (offset < 0)
      return std::nullopt;
    // Offsets are from Redis's "now": read them at now = 0. A key Redis
    // does not hold (offset 0) decides as an unknown key.
    auto d = gcra_step(policies[i], offset, 0);
    all_allow = all_allow && d.allowed;
    result.decisions.push_back(d);
  }
  if (all_allow != result.consumed)
    return std::nullopt;
  return result;
}

} // namespace authsvc::auth
