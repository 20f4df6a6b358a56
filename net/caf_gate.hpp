#pragma once
// The service's public CAF port: a small TCP (or mutual-TLS) front that
// forwards each client connection to CAF's own endpoint on loopback.
//
// Why a front at all: CAF 0.17's io middleman has neither a cap on the size
// a peer may announce for a message (it allocates what a 32-byte header
// claims) nor a way to tell an actor which certificate a message came with.
// The gate does both without touching CAF:
//  - TLS is terminated here with the operator's certificate; the client
//    must present a certificate from `caf.ca` that is not the server's own
//    and whose subject CN or subjectAltName is in `caf.allowed_clients`;
//  - every byte a client sends passes through auth::basp_guard, which
//    closes the connection on a frame larger than `caf.max_message_bytes`
//    before anything is allocated for it, and on operations a direct client
//    never sends (routed messages, extra handshakes);
//  - the node id in the client's handshake is bound to its certificate
//    identity in a caf_peer_registry that the CAF API actor reads for audit.
// The inner endpoint runs CAF's mutual TLS with a throw-away certificate
// (net/ephemeral_pki), so it is no side door for other local processes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/caf_peer_registry.hpp"

namespace authsvc::net {

struct caf_gate_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// The operator's server certificate chain, key and client CA. All empty
  /// means plaintext (only with `caf.insecure_plaintext` on loopback).
  std::string cert;
  std::string key;
  std::string ca;
  /// Names admitted (`caf.allowed_clients`); "*" admits any CA-signed one.
  std::vector<std::string> allowed_clients;
  std::uint32_t max_message_bytes = 1024 * 1024;
  /// Open client connections at most; more are refused at accept.
  std::size_t max_connections = 256;
  /// A client that has not finished its TLS handshake and sent its BASP
  /// handshake by then is dropped (slowloris at the CAF port).
  std::chrono::milliseconds handshake_timeout{10000};
  /// CAF's inner endpoint (127.0.0.1) and the pair that opens it.
  std::uint16_t inner_port = 0;
  std::string inner_cert;
  std::string inner_key;
  /// Called on the gate's thread for every refused connection, with the
  /// reason logged in `caf-connection-refused` (for metrics).
  std::function<void(const char* reason)> on_refusal;
};

/// Counters for /metrics and tests, readable from any thread.
struct caf_gate_stats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_tls{0};      ///< handshake or certificate
  std::atomic<std::uint64_t> refused_identity{0}; ///< not in allowed_clients
  std::atomic<std::uint64_t> refused_size{0};     ///< frame over the limit
  std::atomic<std::uint64_t> refused_protocol{0}; ///< not a direct client
  std::atomic<std::uint64_t> refused_busy{0};     ///< connection cap
};

class caf_gate {
public:
  caf_gate(caf_gate_options opts,
           std::shared_ptr<authsvc::caf_peer_registry> peers);
  ~caf_gate();
  caf_gate(const caf_gate&) = delete;
  caf_gate& operator=(const caf_gate&) = delete;

  /// Binds and starts serving on a thread of its own.
  /// @returns the bound port. @throws std::runtime_error on failure.
  std::uint16_t start();

  /// Closes the listener and every connection, then joins the thread.
  void stop();

  const caf_gate_stats& stats() const noexcept;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
  std::thread thread_;
};

} // namespace authsvc::net
