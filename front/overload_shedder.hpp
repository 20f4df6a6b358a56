#pragma once
// Answers the requests the transport sheds under overload
// (server.max_in_flight) on the I/O thread itself: 503 service_unavailable
// with Retry-After, the request id, the security and CORS headers, as the
// front actors would answer. Shed requests never reach an actor, so the
// excess load costs the actors nothing and cannot queue in front of the
// requests that were admitted or exempt (/liveness, /readiness, the token
// check behind them): before this, every shed request went through a front
// actor's mailbox (and wrote an error log line), and under 10x load the
// probes waited behind them (docs/reliability.md, "Overload").
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "actors/metrics_actor.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "front/middleware.hpp"

namespace authsvc {

class overload_shedder {
public:
  overload_shedder(std::shared_ptr<const config::settings> cfg,
                   metrics_actor metrics, clock_ptr clock = real_clock());

  /// The answer to a shed request. Thread-safe (every I/O thread calls it).
  http::response operator()(const http::request& req);

private:
  /// Counts one shed request; sends the count to the metrics actor at most
  /// every `flush_every` and logs a summary at most every `log_every`, so
  /// that shedding costs no message or log line per request.
  void count();

  std::shared_ptr<const config::settings> cfg_;
  metrics_actor metrics_;
  clock_ptr clock_;
  http::cors_policy cors_;
  std::mutex mtx_;
  std::uint64_t unsent_ = 0;
  std::uint64_t unlogged_ = 0;
  std::int64_t last_flush_ns_ = 0;
  std::int64_t last_log_ns_ = 0;
  static constexpr std::int64_t flush_every_ns = 100'000'000;
  static constexpr std::int64_t log_every_ns = 1'000'000'000;
};

} // namespace authsvc
