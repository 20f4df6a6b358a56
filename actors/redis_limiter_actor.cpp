#include "actors/redis_limiter_actor.hpp"

#include <csignal>

#include <pthread.h>

#include "core/log.hpp"

namespace authsvc {

redis_limiter_actor::behavior_type redis_limiter_impl(
    redis_limiter_actor::stateful_pointer<redis_limiter_state> self,
    redis_limiter_options opts, metrics_actor metrics) {
  // hiredis writes with write(2): on a connection Redis has closed that
  // raises SIGPIPE, which would end the process. Blocked on this actor's
  // own (detached) thread, the write fails with EPIPE instead and the call
  // reports a failure; other threads keep their signal handling.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  auto& init = self->state;
  init.conn = std::make_unique<redis_connection>(opts.endpoint, opts.timeout);
  // Connect now (on this actor's own thread) so the log says at start
  // whether the shared limits work; a failure here is retried per call.
  auto why = init.conn->connect();
  init.up = why.empty();
  auto connection = std::to_string(opts.index);
  caf::anon_send(metrics,
                 metrics::set("rate_limit_redis_up", init.up, {connection}));
  if (init.up)
    log::info("rate-limit", "rate-limit-redis-up",
              {{"connection", opts.index}});
  else
    log::warn("rate-limit", "rate-limit-redis-down",
              {{"connection", opts.index}, {"error", why}});
  return {
      [=, metrics = std::move(metrics)](atom::limit_atom,
                                        const shared_limit_call& call) {
        auto& st = self->state;
        shared_limit_reply reply;
        auto start = opts.clock->steady_ns();
        if (start < st.quiet_until_ns) {
          reply.failure = "redis unavailable (retrying soon)";
          caf::anon_send(metrics, metrics::inc("rate_limit_redis_calls_total",
                                               {"skipped"}));
          return reply;
        }
        auto out = st.conn->eval_gcra({call.keys, call.args});
        auto end = opts.clock->steady_ns();
        caf::anon_send(
            metrics, metrics::observe("rate_limit_redis_duration_seconds",
                                      static_cast<double>(end - start) / 1e9));
        bool ok = out.failure.empty();
        caf::anon_send(metrics, metrics::inc("rate_limit_redis_calls_total",
                                             {ok ? "ok" : "error"}));
        if (!ok)
          st.quiet_until_ns
              = end
                + std::chrono::duration_cast<std::chrono::nanoseconds>(
                      opts.retry_interval)
                      .count();
        if (ok != st.up) {
          st.up = ok;
          caf::anon_send(metrics,
                         metrics::set("rate_limit_redis_up", ok, {connection}));
          if (ok)
            log::info("rate-limit", "rate-limit-redis-up",
                      {{"connection", opts.index}});
          else
            log::warn("rate-limit", "rate-limit-redis-down",
                      {{"connection", opts.index}, {"error", out.failure}});
        }
        reply.values = std::move(out.values);
        reply.failure = std::move(out.failure);
        return reply;
      },
  };
}

} // namespace authsvc
