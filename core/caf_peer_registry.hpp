#pragma once
// Which certificate identity speaks for which CAF node.
//
// CAF 0.17 tells an actor only the sender's node id, never the TLS peer
// behind it. The gate (net/caf_gate) sees both: the certificate when the
// connection is accepted and the node id in the client's BASP handshake.
// It records the pair here before it forwards the handshake, so by the time
// any message of that node reaches the CAF API actor, its identity is known.
// Shared between the gate's I/O thread and the actor: a mutex, no more
// (one lookup per audited call).
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace authsvc {

class caf_peer_registry {
public:
  /// Binds `node` to `identity`. @returns false when the node is already
  /// bound to another identity (a client claiming someone else's node id).
  bool bind(const std::string& node, const std::string& identity) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto [i, added] = peers_.try_emplace(node, entry{identity, 0});
    if (!added && i->second.identity != identity)
      return false;
    ++i->second.connections;
    return true;
  }

  /// Drops one connection's binding of `node`.
  void unbind(const std::string& node) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = peers_.find(node);
    if (i != peers_.end() && --i->second.connections == 0)
      peers_.erase(i);
  }

  /// The identity bound to `node`, if any.
  std::optional<std::string> identity_of(const std::string& node) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = peers_.find(node);
    if (i == peers_.end())
      return std::nullopt;
    return i->second.identity;
  }

private:
  struct entry {
    std::string identity;
    std::size_t connections;
  };
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> peers_;
};

} // namespace authsvc
