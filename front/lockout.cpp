#include "front/lockout.hpp"

#include "front/rate_limit.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

std::string lockout_source(const context_ptr& ctx) {
  return client_rate_key(ctx);
}

void record_failure(const context_ptr& ctx, const std::string& user_id,
                    const std::string& email, const std::string& method,
                    const std::function<void()>& then) {
  if (user_id.empty())
    return guarded(ctx, then);
  record_lockout_failure(ctx->self, ctx->svc(), requester_of(ctx), user_id,
                         email, method,
                         [ctx, then] { guarded(ctx, then); });
}

void record_source_failure(const context_ptr& ctx, const std::string& method,
                           const std::function<void()>& then) {
  record_lockout_failure(ctx->self, ctx->svc(), requester_of(ctx),
                         std::string{}, std::string{}, method,
                         [ctx, then] { guarded(ctx, then); });
}

} // namespace authsvc::http_routes
