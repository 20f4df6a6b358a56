#pragma once
// The HTTP/1.1 transport over Boost.Beast: accepts connections (plain or
// TLS), reads requests within size and time limits, hands each one to a
// dispatcher (the HTTP front actors) and writes the answers back in order.
// It knows nothing about routes or actors; see http/message.hpp.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "http/message.hpp"

namespace authsvc::http {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t max_body_bytes = std::size_t{64} * 1024;
  std::size_t max_header_bytes = std::size_t{8} * 1024;
  std::size_t max_connections = 1024;
  /// Connections one client address (IPv6: its /64) may hold; 0 = no cap.
  std::size_t max_connections_per_ip = 64;
  /// Peers the per-address cap does not apply to (reverse proxies carry
  /// many clients over one address): CIDR blocks, already validated.
  std::vector<std::string> per_ip_exempt;
  std::size_t pipeline_limit = 8;
  // -- admission control (overload) --
  /// Requests handed to the dispatcher and not answered yet, over all
  /// connections, beyond which a new request is shed: it is still handed
  /// over, marked rejection::overloaded, so the front answers 503 with
  /// Retry-After at once and asks no owner. 0 = no bound.
  std::size_t max_in_flight = 0;
  /// Paths that are never shed and not counted (cheap probes that must keep
  /// answering under load, e.g. /liveness).
  std::vector<std::string> shed_exempt_paths;
  /// Builds the answer to a shed request on the I/O thread, so that shed
  /// requests never reach the dispatcher (where they would queue in front
  /// of admitted and exempt ones). Unset: they are handed to the dispatcher
  /// marked rejection::overloaded. Must be thread-safe and must not block.
  std::function<response(const request&)> shed_reply;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::size_t io_threads = 1;
  std::string tls_cert; ///< PEM chain file; TLS is on when set
  std::string tls_key;  ///< PEM key file
  /// Stamps each request's arrival (request.received_ns, monotonic).
  clock_ptr clock = real_clock();
};

/// Receives each request with the responder that answers it. Must not block:
/// it runs on an I/O thread.
using dispatcher = std::function<void(request&&, responder_ptr)>;

class server {
public:
  server(server_options opts, dispatcher dispatch);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the I/O threads.
  /// @returns the bound port (useful with port 0).
  /// @throws std::runtime_error when the address cannot be bound or the TLS
  ///         files cannot be loaded.
  std::uint16_t start();

  /// Blocks until SIGINT or SIGTERM arrives (or request_stop() is called).
  void wait_for_signal();

  /// Unblocks wait_for_signal() without a signal (tests, admin).
  void request_stop();

  /// Stops accepting, closes idle connections and lets in-flight requests
  /// finish, waiting at most `timeout`; then stops the I/O threads.
  /// @returns true when everything finished within the deadline.
  bool drain(std::chrono::milliseconds timeout);

  /// Connections currently open.
  std::size_t connections() const;

  /// Requests handed to the dispatcher and not answered yet (admitted ones).
  std::size_t in_flight() const;

  /// Internal state, shared with the connections (defined in server.cpp).
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace authsvc::http
