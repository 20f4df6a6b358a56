// Every special-purpose address range a webhook must not reach (IANA IPv4 and
// IPv6 Special-Purpose Address Registries, RFC 6890), each with the first and
// last address inside it and the neighbours just outside.
#include <catch2/catch.hpp>

#include "auth/url.hpp"

using namespace authsvc::auth;

namespace {

struct row {
  const char* address;
  const char* scope;      // the to_string() name of the scope
  bool forbidden;         // with allow_private = false
  bool forbidden_private; // with allow_private = true
};

void check_row(const row& r) {
  INFO(r.address);
  auto address = ip_address::parse(r.address);
  REQUIRE(address);
  CHECK(to_string(classify_address(*address)) == r.scope);
  CHECK(is_forbidden_target(*address, false) == r.forbidden);
  CHECK(is_forbidden_target(*address, true) == r.forbidden_private);
}

} // namespace

TEST_CASE("every special-purpose IPv4 range is forbidden, up to its edges",
          "[auth][url][ssrf]") {
  auto r = GENERATE(values<row>({
      // 0.0.0.0/8 "this network"
      {"0.0.0.0", "unspecified", true, true},
      {"0.255.255.255", "unspecified", true, true},
      {"1.0.0.0", "public_unicast", false, false},
      // 10.0.0.0/8
      {"9.255.255.255", "public_unicast", false, false},
      {"10.0.0.0", "private_network", true, false},
      {"10.255.255.255", "private_network", true, false},
      {"11.0.0.0", "public_unicast", false, false},
      // 100.64.0.0/10 shared address space (CGNAT)
      {"100.63.255.255", "public_unicast", false, false},
      {"100.64.0.0", "shared_cgnat", true, false},
      {"100.127.255.255", "shared_cgnat", true, false},
      {"100.128.0.0", "public_unicast", false, false},
      // 127.0.0.0/8
      {"126.255.255.255", "public_unicast", false, false},
      {"127.0.0.0", "loopback", true, false},
      {"127.255.255.255", "loopback", true, false},
      {"128.0.0.0", "public_unicast", false, false},
      // 169.254.0.0/16 (cloud metadata)
      {"169.253.255.255", "public_unicast", false, false},
      {"169.254.0.0", "link_local", true, true},
      {"169.254.255.255", "link_local", true, true},
      {"169.255.0.0", "public_unicast", false, false},
      // 172.16.0.0/12
      {"172.15.255.255", "public_unicast", false, false},
      {"172.16.0.0", "private_network", true, false},
      {"172.31.255.255", "private_network", true, false},
      {"172.32.0.0", "public_unicast", false, false},
      // 192.0.0.0/24 IETF protocol assignments
      {"191.255.255.255", "public_unicast", false, false},
      {"192.0.0.0", "special_purpose", true, true},
      {"192.0.0.255", "special_purpose", true, true},
      {"192.0.1.0", "public_unicast", false, false},
      // 192.0.2.0/24 TEST-NET-1
      {"192.0.1.255", "public_unicast", false, false},
      {"192.0.2.0", "documentation", true, true},
      {"192.0.2.255", "documentation", true, true},
      {"192.0.3.0", "public_unicast", false, false},
      // 192.168.0.0/16
      {"192.167.255.255", "public_unicast", false, false},
      {"192.168.0.0", "private_network", true, false},
      {"192.168.255.255", "private_network", true, false},
      {"192.169.0.0", "public_unicast", false, false},
      // 198.18.0.0/15 benchmarking
      {"198.17.255.255", "public_unicast", false, false},
      {"198.18.0.0", "special_purpose", true, true},
      {"198.19.255.255", "special_purpose", true, true},
      {"198.20.0.0", "public_unicast", false, false},
      // 198.51.100.0/24 TEST-NET-2
      {"198.51.99.255", "public_unicast", false, false},
      {"198.51.100.0", "documentation", true, true},
      {"198.51.100.255", "documentation", true, true},
      {"198.51.101.0", "public_unicast", false, false},
      // 203.0.113.0/24 TEST-NET-3
      {"203.0.112.255", "public_unicast", false, false},
      {"203.0.113.0", "documentation", true, true},
      {"203.0.113.255", "documentation", true, true},
      {"203.0.114.0", "public_unicast", false, false},
      // 224.0.0.0/4 multicast
      {"223.255.255.255", "public_unicast", false, false},
      {"224.0.0.0", "multicast", true, true},
      {"239.255.255.255", "multicast", true, true},
      // 240.0.0.0/4 reserved, and the limited broadcast address
      {"240.0.0.0", "reserved", true, true},
      {"255.255.255.254", "reserved", true, true},
      {"255.255.255.255", "reserved", true, true},
  }));
  check_row(r);
}

TEST_CASE("every special-purpose IPv6 range is forbidden, up to its edges",
          "[auth][url][ssrf]") {
  auto r = GENERATE(values<row>({
      {"::", "unspecified", true, true},
      {"::1", "loopback", true, false},
      {"::2", "reserved", true, true},
      // IPv4-compatible ::/96 (deprecated): never a real destination
      {"::a00:1", "reserved", true, true},
      {"::808:808", "reserved", true, true},
      {"::ffff:ffff", "reserved", true, true},
      // IPv4-mapped ::ffff:0:0/96: judged as the IPv4 address
      {"::ffff:0.0.0.0", "unspecified", true, true},
      {"::ffff:9.255.255.255", "public_unicast", false, false},
      {"::ffff:10.0.0.0", "private_network", true, false},
      {"::ffff:127.0.0.1", "loopback", true, false},
      {"::ffff:169.254.169.254", "link_local", true, true},
      {"::ffff:192.0.2.1", "documentation", true, true},
      {"::ffff:198.18.0.1", "special_purpose", true, true},
      {"::ffff:255.255.255.255", "reserved", true, true},
      {"::ffff:8.8.8.8", "public_unicast", false, false},
      // the rest of ::/8 (e.g. IPv4-translated ::ffff:0:0:0/96) is reserved
      {"::fffe:a00:1", "reserved", true, true},
      {"::ffff:0:a00:1", "reserved", true, true},
      {"::1:0:0:0", "reserved", true, true},
      {"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved", true, true},
      // NAT64 well-known prefix 64:ff9b::/96: judged as the embedded IPv4
      {"64:ff9b::", "unspecified", true, true},
      {"64:ff9b::a00:1", "private_network", true, false},
      {"64:ff9b::7f00:1", "loopback", true, false},
      {"64:ff9b::a9fe:a9fe", "link_local", true, true},
      {"64:ff9b::c000:201", "documentation", true, true},
      {"64:ff9b::808:808", "public_unicast", false, false},
      {"64:ff9b::ffff:ffff", "reserved", true, true},
      // inside 64:ff9b::/32 but outside the /96: not a translator address
      {"64:ff9b::1:0:0", "reserved", true, true},
      // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215): the /96 form is
      // judged as its IPv4 address; other forms reach the operator's own
      // translator, whose prefix length we cannot know: private
      {"64:ff9b:1::a00:1", "private_network", true, false},
      {"64:ff9b:1::7f00:1", "loopback", true, false},
      {"64:ff9b:1::a9fe:a9fe", "link_local", true, true},
      {"64:ff9b:1::808:808", "public_unicast", false, false},
      {"64:ff9b:1:a00:0:100::", "private_network", true, false},
      {"64:ff9b:1:1234:8:808:800:0", "private_network", true, false},
      {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "private_network", true, false},
      {"64:ff9b:2::a00:1", "reserved", true, true},
      // discard-only 100::/64
      {"100::", "reserved", true, true},
      {"100::ffff:ffff:ffff:ffff", "reserved", true, true},
      // Teredo 2001::/32: tunnels to an obfuscated IPv4 address
      {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public_unicast", false,
       false},
      {"2001::", "special_purpose", true, true},
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "special_purpose", true, true},
      {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "special_purpose", true, true},
      {"2001:1::", "public_unicast", false, false},
      // 2001:db8::/32 documentation
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "public_unicast", false,
       false},
      {"2001:db8::", "documentation", true, true},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation", true, true},
      {"2001:db9::", "public_unicast", false, false},
      // 6to4 2002::/16: judged as the embedded IPv4 address
      {"2002:a00:1::1", "private_network", true, false},
      {"2002:7f00:1::1", "loopback", true, false},
      {"2002:a9fe:a9fe::1", "link_local", true, true},
      {"2002:c633:6401::1", "documentation", true, true},
      {"2002::1", "unspecified", true, true},
      {"2002:808:808::1", "public_unicast", false, false},
      {"2003::1", "public_unicast", false, false},
      // global unicast is 2000::/3; the rest of the space is not routed
      {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved", true, true},
      {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public_unicast", false,
       false},
      {"4000::1", "reserved", true, true},
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved", true, true},
      // unique local fc00::/7
      {"fc00::", "unique_local", true, false},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique_local", true, false},
      {"fe00::", "reserved", true, true},
      // link-local fe80::/10
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved", true, true},
      {"fe80::", "link_local", true, true},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link_local", true, true},
      {"fec0::", "reserved", true, true},
      // multicast ff00::/8
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved", true, true},
      {"ff00::", "multicast", true, true},
      {"ff02::1", "multicast", true, true},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast", true, true},
  }));
  check_row(r);
}
