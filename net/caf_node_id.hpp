#pragma once
// Decodes the node id a CAF 0.17 client sends in its BASP handshake.
// Its own file because it is the gate's only use of CAF headers (which
// cost compile time; the gate itself is Asio and OpenSSL).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace authsvc::net {

/// @returns the node id as `caf::to_string` prints it (the form the CAF API
/// actor sees for the sender), or nullopt when the payload is not exactly
/// one valid node id.
std::optional<std::string>
decode_handshake_node(const std::vector<std::uint8_t>& payload);

} // namespace authsvc::net
