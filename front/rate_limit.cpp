#include "front/rate_limit.hpp"

#include <algorithm>

#include "auth/client_ip.hpp"
#include "auth/rate_limiter.hpp"

namespace authsvc {

namespace {

/// A request the limiter gave no verdict for (`why`: timeout, or the
/// limiter's error): goes on or gets 503, as `rate_limit.on_timeout` says
/// for its class, counted in rate_limit_timeouts_total{outcome}.
void without_verdict(const context_ptr& ctx, const std::string& route_class,
                     const std::string& why,
                     const std::function<void()>& next) {
  auto policy
      = auth::parse_limiter_outage_policy(ctx->cfg().rate_limit.on_timeout)
            .value_or(auth::limiter_outage_policy::closed_for_sign_in);
  bool pass = auth::pass_without_verdict(policy, route_class);
  ctx->log_fields["rate_limit"] = "unavailable: " + why;
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("rate_limit_timeouts_total",
                              {pass ? "allowed" : "refused"}));
  if (pass)
    return guarded(ctx, next);
  ctx->extra_headers.push_back({"Retry-After", "1"});
  ctx->reply_error("service_unavailable");
}

/// The limiter on the hot path (every request): a call without a CAF timer
/// (see ask_owner). When the limiter does not answer within
/// `rate_limit.timeout`, or fails, without_verdict decides: an overloaded
/// limiter should neither take the whole API down with it nor, for the
/// sign-in classes by default, switch off the brake on guessing codes.
void ask(const context_ptr& ctx, rate_request req,
         const std::function<void()>& next) {
  auto route_class = req.route_class;
  ctx->on_owner_timeout = [ctx, next, route_class] {
    without_verdict(ctx, route_class, "timeout", next);
  };
  auto timeout = std::chrono::milliseconds(
      static_cast<long long>(ctx->cfg().rate_limit.timeout * 1000));
  auto [call, rq] = ask_owner(ctx, timeout, ctx->svc().limiter,
                              atom::limit_atom_v, std::move(req));
  rq.then(
      [ctx, next, call = call](rate_verdict& v) {
        if (!ctx->owner_answered(call))
          return;
        if (v.unavailable) {
          // The shared limits (Redis) gave no verdict and
          // rate_limit.redis_fail_open is false: fail closed.
          ctx->log_fields["rate_limit"] = "unavailable: redis";
          ctx->extra_headers.push_back({"Retry-After", "1"});
          return ctx->reply_error("service_unavailable");
        }
        if (!v.allowed)
          return reply_rate_limited(ctx, v);
        add_rate_headers(ctx, v);
        guarded(ctx, next);
      },
      [ctx, next, route_class, call = call](caf::error& e) {
        if (!ctx->owner_answered(call))
          return;
        without_verdict(ctx, route_class, caf::to_string(e), next);
      });
}

} // namespace

std::string client_rate_key(const context_ptr& ctx) {
  if (auto ip = auth::ip_address::parse(ctx->client_ip))
    return auth::rate_limit_key(*ip);
  return ctx->client_ip;
}

void add_rate_headers(const context_ptr& ctx, const rate_verdict& v) {
  if (v.limit == 0)
    return;
  ctx->extra_headers.push_back({"RateLimit-Limit", std::to_string(v.limit)});
  ctx->extra_headers.push_back(
      {"RateLimit-Remaining", std::to_string(v.remaining)});
  ctx->extra_headers.push_back(
      {"RateLimit-Reset", std::to_string(v.reset_after)});
}

void reply_rate_limited(const context_ptr& ctx, const rate_verdict& v) {
  add_rate_headers(ctx, v);
  ctx->extra_headers.push_back(
      {"Retry-After",
       std::to_string(std::max<std::int64_t>(1, v.retry_after))});
  ctx->log_fields["rate_limited"] = v.type;
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("rate_limit_hits_total", {v.type}));
  if (v.audit)
    ctx->audit("rate_limit.exceeded", false, {}, {},
               {{"type", v.type}, {"route", ctx->route}});
  ctx->reply_error("rate_limited");
}

void with_ip_limits(const context_ptr& ctx, const char* route_class,
                    const std::function<void()>& next) {
  if (!ctx->cfg().rate_limit.enabled)
    return guarded(ctx, next);
  const auto& ceiling = ctx->svc().ip_ceiling;
  if ((!route_class || !*route_class) && ceiling) {
    // Only the global ceiling applies: checked here, without a limiter
    // message (issue 13). Exact per address (one shard per key), and the
    // same counter the limiter actor uses for the ceiling of classed routes
    // (rate_limiter_state::shared_ceiling), so mixing routes gets no more.
    auto key = client_rate_key(ctx);
    auto now = ctx->svc().clock->steady_ns() / 1000;
    auto d = ceiling->check(key, now);
    if (d.allowed) // the ceiling alone sets no RateLimit-* headers
      return guarded(ctx, next);
    rate_verdict v;
    v.allowed = false;
    v.type = std::string(auth::to_string(auth::limit_class::global_per_ip));
    v.limit = d.limit;
    v.remaining = d.remaining;
    v.reset_after = d.reset_after_seconds;
    v.retry_after = d.retry_after_seconds;
    v.audit = ctx->svc().ip_ceiling_audit
              && ctx->svc()
                     .ip_ceiling_audit->check(v.type + "|" + key, now)
                     .allowed;
    return reply_rate_limited(ctx, v);
  }
  ask(ctx,
      rate_request{route_class ? route_class : "", client_rate_key(ctx), {}},
      next);
}

void with_identifier_limit(const context_ptr& ctx, const char* route_class,
                           std::string identifier,
                           const std::function<void()>& next) {
  if (!ctx->cfg().rate_limit.enabled)
    return guarded(ctx, next);
  ask(ctx, rate_request{route_class, {}, std::move(identifier)}, next);
}

} // namespace authsvc
