// Client address resolution: CIDR blocks (trusted proxies, allow lists),
// IP literals, and the Forwarded / X-Forwarded-For / X-Forwarded-Proto
// headers a client may send. Input: five '\n'-separated fields (CIDR list
// entry, peer address, X-Forwarded-For, Forwarded, X-Forwarded-Proto).
#include "auth/cidr.hpp"
#include "auth/client_ip.hpp"
#include "auth/ip_address.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto f = authsvc::fuzz::fields_of(authsvc::fuzz::as_text(data, size), 5);
  proxy_trust trust;
  if (auto block = cidr_block::parse(f[0])) {
    // A block prints to a text that parses back to the same block.
    auto again = cidr_block::parse(block->to_string());
    check(again && *again == *block, "cidr round trip");
    check(block->contains(block->network()), "a block without its network");
    trust.trusted_proxies.push_back(*block);
  }
  (void)parse_cidr_list({f[0], f[1]});
  auto peer = ip_address::parse(f[1]);
  if (peer) {
    auto again = ip_address::parse(peer->to_string());
    check(again && *again == *peer, "ip round trip");
  } else {
    peer = ip_address::parse("10.0.0.1");
  }
  // Trust the peer too, so the headers are read, not ignored.
  if (auto own = cidr_block::parse(peer->to_string()))
    trust.trusted_proxies.push_back(*own);
  forwarding_headers h;
  h.x_forwarded_for = std::string_view(f[2]);
  h.forwarded = std::string_view(f[3]);
  h.x_forwarded_proto = std::string_view(f[4]);
  for (auto mode : {forwarded_header_mode::x_forwarded_for,
                    forwarded_header_mode::forwarded}) {
    trust.mode = mode;
    auto client = resolve_client_ip(*peer, h, trust);
    (void)rate_limit_key(client);
    (void)client_used_https(*peer, false, h, trust);
  }
  (void)parse_forwarded_node(f[3], true);
  (void)parse_forwarded_node(f[3], false);
  return 0;
}
