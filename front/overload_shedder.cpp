#include "front/overload_shedder.hpp"

#include "core/log.hpp"
#include "front/errors.hpp"

namespace authsvc {

overload_shedder::overload_shedder(std::shared_ptr<const config::settings> cfg,
                                   metrics_actor metrics, clock_ptr clock)
    : cfg_(std::move(cfg)), metrics_(std::move(metrics)),
      clock_(std::move(clock)), cors_(cfg_->server.cors_origins) {}

void overload_shedder::count() {
  std::uint64_t send = 0;
  std::uint64_t logged = 0;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    ++unsent_;
    ++unlogged_;
    auto now = clock_->steady_ns();
    if (now - last_flush_ns_ >= flush_every_ns) {
      send = unsent_;
      unsent_ = 0;
      last_flush_ns_ = now;
    }
    if (now - last_log_ns_ >= log_every_ns) {
      logged = unlogged_;
      unlogged_ = 0;
      last_log_ns_ = now;
    }
  }
  if (send > 0)
    caf::anon_send(metrics_, metrics::inc("http_requests_shed_total", {},
                                          static_cast<double>(send)));
  if (logged > 0)
    log::warn("http", "requests-shed",
              {{"count", logged},
               {"max_in_flight", cfg_->server.max_in_flight},
               {"cause", "overloaded"}});
}

http::response overload_shedder::operator()(const http::request& req) {
  count();
  auto id = http::resolve_request_id(req);
  auto r = http::error_response({"service_unavailable", {}, {}, 0}, id);
  // As request_context::reply does for every answer.
  r.set_header("X-Request-ID", id);
  r.set_header("Retry-After", "1");
  r.set_header("Content-Type", "application/json; charset=utf-8");
  http::apply_security_headers(r, req.tls, cfg_->server.hsts_max_age);
  cors_.decorate(req, r);
  if (req.method == "HEAD")
    r.head = true;
  return r;
}

} // namespace authsvc
