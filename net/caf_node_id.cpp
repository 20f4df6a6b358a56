#include "net/caf_node_id.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/node_id.hpp>

namespace authsvc::net {

std::optional<std::string>
decode_handshake_node(const std::vector<std::uint8_t>& payload) {
  caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr),
                                  reinterpret_cast<const char*>(payload.data()),
                                  payload.size()};
  caf::node_id nid;
  if (auto err = source(nid))
    return std::nullopt;
  if (source.remaining() != 0 || !nid)
    return std::nullopt;
  return caf::to_string(nid);
}

} // namespace authsvc::net
