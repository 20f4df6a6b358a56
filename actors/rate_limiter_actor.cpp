#include "actors/rate_limiter_actor.hpp"

#include <chrono>
#include <functional>

#include "auth/redis_gcra.hpp"
#include "auth/redis_url.hpp"
#include "core/log.hpp"

namespace authsvc {

namespace {

auth::micros steady_us(const clock& c) {
  return c.steady_ns() / 1000;
}

constexpr auto sweep_interval = std::chrono::seconds(30);

rate_verdict to_verdict(const auth::rate_decision& d, auth::limit_class cls) {
  rate_verdict v;
  v.allowed = d.allowed;
  v.type = std::string(auth::to_string(cls));
  v.limit = d.limit;
  v.remaining = d.remaining;
  v.reset_after = d.reset_after_seconds;
  v.retry_after = d.retry_after_seconds;
  return v;
}

} // namespace

std::optional<auth::limit_class> per_ip_class(std::string_view c) {
  using lc = auth::limit_class;
  if (c == "email_send")
    return lc::email_send_per_ip;
  if (c == "verify")
    return lc::verify_per_ip;
  if (c == "refresh")
    return lc::refresh_per_ip;
  if (c == "webauthn")
    return lc::webauthn_per_ip;
  if (c == "totp")
    return lc::totp_per_ip;
  return std::nullopt;
}

std::optional<auth::limit_class> per_identifier_class(std::string_view c) {
  if (c == "email_send")
    return auth::limit_class::email_send_per_address;
  return std::nullopt;
}

auth::limiter_set_config limiter_config(const config::settings& cfg,
                                        std::vector<std::string>* problems) {
  auth::limiter_set_config lc;
  lc.max_keys_per_limiter = static_cast<std::size_t>(cfg.rate_limit.max_keys);
  for (const auto& [cls, value] : cfg.rate_limit.policies)
    if (auto err = lc.override_policy(cls, value); err && problems)
      problems->push_back(*err);
  return lc;
}

rate_verdict rate_limiter_state::decide(const rate_request& req,
                                        auth::micros now) {
  std::vector<auth::rate_check> checks;
  if (!req.identifier.empty()) {
    auto cls = per_identifier_class(req.route_class);
    if (!cls)
      return {};
    checks.push_back({*cls, req.identifier});
  } else if (shared_ceiling) {
    return decide_with_shared_ceiling(req, now);
  } else {
    checks.push_back({auth::limit_class::global_per_ip, req.ip_key});
    if (auto cls = per_ip_class(req.route_class))
      checks.push_back({*cls, req.ip_key});
  }
  // Headers describe the route's own limit, not the global ceiling: what
  // check() of that class alone would answer, which is what check_all
  // consumes when everything passes.
  auto own = limits->limiter(checks.back().cls).peek(checks.back().key, now);
  auto d = limits->check_all(checks, now);
  if (d.allowed) {
    if (checks.size() == 1 && req.identifier.empty())
      return {};
    return to_verdict(own, checks.back().cls);
  }
  // Nothing was consumed: find the limit that refused (longest wait).
  auto cls = checks.front().cls;
  auth::rate_decision worst;
  worst.retry_after_us = -1;
  for (const auto& c : checks) {
    auto p = limits->limiter(c.cls).peek(c.key, now);
    if (!p.allowed && p.retry_after_us > worst.retry_after_us) {
      worst = p;
      cls = c.cls;
    }
  }
  auto v = to_verdict(worst.retry_after_us < 0 ? d : worst, cls);
  v.allowed = false;
  auto gate_key = v.type + "|" + std::string(checks.front().key);
  v.audit = audit_gate->check(gate_key, now).allowed;
  return v;
}

rate_verdict
rate_limiter_state::decide_with_shared_ceiling(const rate_request& req,
                                               auth::micros now) {
  // As check_all: nothing is consumed when a limit refuses. The class is
  // only counted here (this actor is its one owner), so a peek that allows
  // stays true until its check below; the ceiling is shared with the
  // fronts, and its check() consumes atomically per key.
  auto cls = per_ip_class(req.route_class);
  auto refuse = [&](const auth::rate_decision& d, auth::limit_class c) {
    auto v = to_verdict(d, c);
    v.allowed = false;
    v.audit = audit_gate->check(v.type + "|" + req.ip_key, now).allowed;
    return v;
  };
  if (cls) {
    auto own = limits->limiter(*cls).peek(req.ip_key, now);
    if (!own.allowed)
      return refuse(own, *cls);
  }
  auto ceiling = shared_ceiling->check(req.ip_key, now);
  if (!ceiling.allowed)
    return refuse(ceiling, auth::limit_class::global_per_ip);
  if (!cls)
    return {};
  return to_verdict(limits->limiter(*cls).check(req.ip_key, now), *cls);
}

shared_limit_call
rate_limiter_state::shared_call(const rate_request& req) const {
  using lc = auth::limit_class;
  std::vector<std::pair<lc, auth::rate_policy>> limits{
      {lc::global_per_ip, limits_policy(lc::global_per_ip)}};
  if (auto cls = per_ip_class(req.route_class))
    limits.emplace_back(*cls, limits_policy(*cls));
  auto call = auth::make_redis_gcra_call(limits, req.ip_key);
  return {std::move(call.keys), std::move(call.args)};
}

std::optional<rate_verdict>
rate_limiter_state::shared_verdict(const rate_request& req,
                                   const shared_limit_reply& reply,
                                   auth::micros now) {
  using lc = auth::limit_class;
  std::vector<lc> classes{lc::global_per_ip};
  if (auto cls = per_ip_class(req.route_class))
    classes.push_back(*cls);
  std::vector<auth::rate_policy> policies;
  policies.reserve(classes.size());
  for (auto cls : classes)
    policies.push_back(limits_policy(cls));
  auto result = auth::read_redis_gcra_reply(reply.values, policies);
  if (!result)
    return std::nullopt;
  // As decide(): headers describe the route's own limit; the ceiling alone
  // sets none. A refusal names the limit with the longest wait.
  if (result->consumed) {
    if (classes.size() == 1)
      return rate_verdict{};
    return to_verdict(result->decisions.back(), classes.back());
  }
  std::size_t worst = 0;
  for (std::size_t i = 0; i < classes.size(); ++i)
    if (!result->decisions[i].allowed
        && (result->decisions[worst].allowed
            || result->decisions[i].retry_after_us
                   > result->decisions[worst].retry_after_us))
      worst = i;
  auto v = to_verdict(result->decisions[worst], classes[worst]);
  v.allowed = false;
  v.audit = audit_gate->check(v.type + "|" + req.ip_key, now).allowed;
  return v;
}

const redis_limiter_actor&
rate_limiter_state::redis_for(const std::string& ip_key) const {
  return redis[std::hash<std::string>{}(ip_key) % redis.size()];
}

auth::rate_policy
rate_limiter_state::limits_policy(auth::limit_class cls) const {
  return limits->limiter(cls).policy();
}

namespace {

using limiter_self = rate_limiter_actor::stateful_pointer<rate_limiter_state>;

/// A per-IP request Redis gave no verdict for (`why`): this node's own
/// limits decide when rate_limit.redis_fail_open, else no verdict (503).
rate_verdict without_redis(limiter_self self, const rate_request& req,
                           const std::string& why) {
  auto& st = self->state;
  caf::anon_send(st.metrics,
                 metrics::inc("rate_limit_redis_fallbacks_total",
                              {st.redis_fail_open ? "local" : "refused"}));
  log::debug("rate-limit", "rate-limit-redis-no-verdict", {{"error", why}});
  if (st.redis_fail_open)
    return st.decide(req, steady_us(*st.clock));
  rate_verdict v;
  v.allowed = false;
  v.unavailable = true;
  return v;
}

} // namespace

rate_limiter_actor::behavior_type
rate_limiter_impl(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
                  const std::shared_ptr<const config::settings>& cfg,
                  clock_ptr clock,
                  std::shared_ptr<auth::sharded_rate_limiter> shared_ceiling,
                  metrics_actor metrics) {
  self->state.clock = std::move(clock);
  self->state.shared_ceiling = std::move(shared_ceiling);
  self->state.metrics = metrics;
  std::vector<std::string> problems;
  auto lc = limiter_config(*cfg, &problems);
  for (const auto& p : problems)
    log::warn("rate-limit", "rate-limit-policy-ignored", {{"problem", p}});
  self->state.limits = std::make_unique<auth::limiter_set>(lc);
  self->state.audit_gate
      = std::make_unique<auth::rate_limiter>(auth::rate_policy{1, 60}, 10'000);
  if (cfg->rate_limit.enabled && cfg->rate_limit.backend == "redis") {
    // Validated at start (core/config); a URL that does not parse here
    // leaves the node on its own limits rather than without any.
    if (auto ep = auth::parse_redis_url(cfg->rate_limit.redis_url, nullptr)) {
      redis_limiter_options opts;
      opts.endpoint = std::move(*ep);
      opts.timeout = std::chrono::milliseconds(std::max<long long>(
          1, static_cast<long long>(cfg->rate_limit.redis_timeout * 1000)));
      opts.clock = self->state.clock;
      // A call may wait for a connect and a command (one timeout each)
      // behind the calls queued before it; past this the node decides
      // without Redis.
      self->state.redis_wait = 3 * opts.timeout + std::chrono::milliseconds(50);
      self->state.redis_fail_open = cfg->rate_limit.redis_fail_open;
      // Linked: they go down with this actor, and take it down if one
      // crashes (the supervisor restarts this actor, which spawns new
      // ones). Several: each call waits a round trip on its connection.
      self->state.redis.reserve(
          static_cast<std::size_t>(cfg->rate_limit.redis_connections));
      for (std::int64_t i = 0; i < cfg->rate_limit.redis_connections; ++i) {
        opts.index = i;
        self->state.redis.push_back(self->spawn<caf::detached + caf::linked>(
            redis_limiter_impl, opts, metrics));
      }
    }
  }
  self->delayed_send(self, sweep_interval, atom::tick_atom_v);
  return {
      [=](atom::limit_atom,
          const rate_request& req) -> caf::result<rate_verdict> {
        auto& st = self->state;
        if (st.redis.empty() || !req.identifier.empty())
          return st.decide(req, steady_us(*st.clock));
        auto rp = self->make_response_promise<rate_verdict>();
        self->request(st.redis_for(req.ip_key), st.redis_wait,
                      atom::limit_atom_v, st.shared_call(req))
            .then(
                [=](shared_limit_reply& reply) mutable {
                  auto now = steady_us(*self->state.clock);
                  if (reply.failure.empty()) {
                    if (auto v = self->state.shared_verdict(req, reply, now)) {
                      rp.deliver(std::move(*v));
                      return;
                    }
                    reply.failure = "unexpected script reply";
                  }
                  rp.deliver(without_redis(self, req, reply.failure));
                },
                [=](caf::error& e) mutable {
                  rp.deliver(without_redis(self, req, caf::to_string(e)));
                });
        return rp;
      },
      [=](atom::tick_atom) {
        auto now = steady_us(*self->state.clock);
        for (std::size_t i = 0; i < auth::limit_class_count; ++i)
          self->state.limits->limiter(static_cast<auth::limit_class>(i))
              .sweep(now);
        self->state.audit_gate->sweep(now);
        self->delayed_send(self, sweep_interval, atom::tick_atom_v);
      },
  };
}

} // namespace authsvc
