#pragma once
// A guard for the byte stream a remote CAF 0.17 node sends us (BASP, the
// "binary actor system protocol" of CAF's io middleman).
//
// Why it exists: CAF 0.17 reads a 32-byte BASP header and then asks its
// socket layer for exactly `payload_len` bytes, allocating that much before
// a single payload byte arrived. One header claiming 1 GiB costs 1 GiB of
// memory (measured: 30 MB -> 1.08 GB RSS), so a peer can exhaust memory
// before it ever authenticates at the BASP level. CAF 0.17 has no setting
// for it, so the service fronts its CAF port (net/caf_gate) and passes
// every byte a client sends through this guard first.
//
// The guard is a pure state machine over the byte stream: it never buffers
// payloads (except the first frame's, which carries the client's node id),
// it only tracks frame boundaries. It also refuses what a direct client
// never needs to send: a server handshake and routed messages (whose
// payload names a source node of the sender's choosing, which would let one
// client speak as another). Client handshakes are captured so the gate can
// bind (and keep) the node id they carry.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace authsvc::auth {

namespace defaults {

/// `caf.max_message_bytes`: the largest BASP payload a client may send.
constexpr std::uint32_t caf_max_message_bytes = 1024 * 1024;

/// The client handshake carries one node id (a few dozen bytes).
constexpr std::uint32_t basp_max_handshake_bytes = 4096;

} // namespace defaults

/// BASP 0.17 wire facts (caf/io/basp/header.hpp, message_type.hpp):
/// operation(1) padding(2) flags(1) payload_len(4, big endian)
/// operation_data(8) source_actor(8) dest_actor(8).
namespace basp {
constexpr std::size_t header_size = 32;
constexpr std::size_t payload_len_offset = 4;
enum class operation : std::uint8_t {
  server_handshake = 0x00,
  client_handshake = 0x01,
  direct_message = 0x02,
  routed_message = 0x03,
  monitor_message = 0x04,
  down_message = 0x05,
  heartbeat = 0x06,
};
} // namespace basp

/// What the guard concluded from the bytes fed so far.
enum class basp_verdict : std::uint8_t {
  pass,            ///< forward the bytes
  handshake_ready, ///< forward; handshake_payload() now holds the node id
  too_large,       ///< a frame claims more than the limit: close
  bad_operation,   ///< an operation a client must not send here: close
};

std::string_view to_string(basp_verdict v) noexcept;

/// Tracks BASP frames in the client-to-server direction of one connection.
class basp_guard {
public:
  /// @param max_payload the largest payload accepted in any frame.
  explicit basp_guard(std::uint32_t max_payload) noexcept
      : max_payload_(max_payload) {}

  /// Feeds the next `n` bytes of the stream. Once a verdict other than
  /// `pass`/`handshake_ready` came back, the connection must be closed and
  /// nothing more fed. `handshake_ready` is returned for each chunk that
  /// completes a client handshake (the first frame must be one).
  basp_verdict feed(const std::uint8_t* data, std::size_t n);

  /// The payload of the latest client handshake (CAF's serialized node id
  /// of the client), complete once feed() returned `handshake_ready`.
  const std::vector<std::uint8_t>& handshake_payload() const noexcept {
    return handshake_;
  }

  /// The operation byte and announced length of the last header read
  /// (for the log line of a refusal).
  std::uint8_t last_operation() const noexcept { return header_[0]; }
  std::uint32_t last_length() const noexcept { return last_len_; }

  /// Frames seen completely or in part.
  std::uint64_t frames() const noexcept { return frames_; }

private:
  basp_verdict on_header();

  std::uint32_t max_payload_;
  std::uint8_t header_[basp::header_size] = {};
  std::size_t header_fill_ = 0;
  std::uint64_t payload_left_ = 0;
  std::uint32_t last_len_ = 0;
  std::uint64_t frames_ = 0;
  bool in_handshake_ = false;
  bool handshake_done_ = false;
  std::vector<std::uint8_t> handshake_;
};

} // namespace authsvc::auth
