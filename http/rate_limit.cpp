#include "http/rate_limit.hpp"

#include <algorithm>

#include "auth/client_ip.hpp"

namespace authsvc {

namespace {

constexpr auto limiter_timeout = std::chrono::milliseconds(2000);

/// The limiter on the hot path (every request): a call without a CAF timer
/// (see ask_owner). When the limiter does not answer in time, or fails,
/// the request goes on without limits: an overloaded limiter must not take
/// the whole API down with it (logged as rate_limit=unavailable).
void ask(const context_ptr& ctx, rate_request req, std::function<void()> next) {
  ctx->on_owner_timeout = [ctx, next] {
    ctx->log_fields["rate_limit"] = "unavailable: timeout";
    next();
  };
  auto [call, rq] = ask_owner(ctx, limiter_timeout, ctx->svc().limiter,
                              atom::limit_atom_v, std::move(req));
  rq.then(
      [ctx, next, call = call](rate_verdict& v) {
        if (!ctx->owner_answered(call))
          return;
        if (!v.allowed)
          return reply_rate_limited(ctx, v);
        add_rate_headers(ctx, v);
        guarded(ctx, next);
      },
      [ctx, next, call = call](caf::error& e) {
        if (!ctx->owner_answered(call))
          return;
        ctx->log_fields["rate_limit"] = "unavailable: " + caf::to_string(e);
        guarded(ctx, next);
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
                    std::function<void()> next) {
  if (!ctx->cfg().rate_limit.enabled)
    return guarded(ctx, next);
  ask(ctx,
      rate_request{route_class ? route_class : "", client_rate_key(ctx), {}},
      std::move(next));
}

void with_identifier_limit(const context_ptr& ctx, const char* route_class,
                           std::string identifier, std::function<void()> next) {
  if (!ctx->cfg().rate_limit.enabled)
    return guarded(ctx, next);
  ask(ctx, rate_request{route_class, {}, std::move(identifier)},
      std::move(next));
}

} // namespace authsvc
