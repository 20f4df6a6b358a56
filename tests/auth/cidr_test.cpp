#include <catch2/catch.hpp>

#include "auth/cidr.hpp"
#include "auth/ip_address.hpp"
#include "auth/ip_filter.hpp"

using namespace authsvc::auth;

namespace {

ip_address ip(std::string_view text) {
  auto parsed = ip_address::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

cidr_block block(std::string_view text) {
  auto parsed = cidr_block::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

ip_filter filter(std::vector<std::string> allow,
                 std::vector<std::string> deny) {
  auto a = parse_cidr_list(allow);
  auto d = parse_cidr_list(deny);
  REQUIRE(a);
  REQUIRE(d);
  return ip_filter(*a, *d);
}

} // namespace

TEST_CASE("ip addresses parse strictly and print canonically", "[auth][ip]") {
  CHECK(ip("192.0.2.1").is_v4());
  CHECK(ip("192.0.2.1").to_string() == "192.0.2.1");
  CHECK(ip("2001:DB8:0:0:0:0:0:1").to_string() == "2001:db8::1");
  CHECK_FALSE(ip("::ffff:192.0.2.1").is_v4());
  CHECK(ip("::ffff:192.0.2.1").is_v4_mapped());
  CHECK(ip("::ffff:192.0.2.1").unmapped() == ip("192.0.2.1"));
  CHECK(ip("::ffff:192.0.2.1") != ip("192.0.2.1"));
  for (auto bad : {"", " 1.2.3.4", "1.2.3.4 ", "1.2.3", "10.1", "0x0a.0.0.1",
                   "010.0.0.1", "256.0.0.1", "1.2.3.4:80", "[::1]",
                   "fe80::1%eth0", "localhost", "::g", "1.2.3.4/8"})
    CHECK_FALSE(ip_address::parse(bad));
  CHECK_FALSE(ip_address::parse(std::string_view("1.2.3.4\0junk", 12)));
}

TEST_CASE("ipv4 cidr blocks contain exactly their range", "[auth][cidr]") {
  auto net = block("10.0.0.0/8");
  CHECK(net.contains(ip("10.0.0.0")));
  CHECK(net.contains(ip("10.255.255.255")));
  CHECK_FALSE(net.contains(ip("11.0.0.0")));
  CHECK_FALSE(net.contains(ip("9.255.255.255")));
  auto odd = block("192.168.1.64/26");
  CHECK(odd.contains(ip("192.168.1.127")));
  CHECK_FALSE(odd.contains(ip("192.168.1.128")));
  CHECK(block("0.0.0.0/0").contains(ip("203.0.113.9")));
  CHECK(block("203.0.113.9").contains(ip("203.0.113.9")));
  CHECK(block("203.0.113.9").prefix_length() == 32);
  CHECK_FALSE(block("203.0.113.9").contains(ip("203.0.113.8")));
}

TEST_CASE("ipv6 cidr blocks contain exactly their range", "[auth][cidr]") {
  auto net = block("2001:db8::/32");
  CHECK(net.contains(ip("2001:db8:ffff::1")));
  CHECK_FALSE(net.contains(ip("2001:db9::1")));
  CHECK(block("::1").prefix_length() == 128);
  CHECK(block("::1").contains(ip("::1")));
  CHECK_FALSE(block("::1").contains(ip("::2")));
  CHECK(block("fe80::/10").contains(ip("febf::1")));
  CHECK_FALSE(block("fe80::/10").contains(ip("fec0::1")));
  // Native IPv6 never falls into an IPv4 block.
  CHECK_FALSE(block("0.0.0.0/0").contains(ip("2001:db8::1")));
}

TEST_CASE("ipv4-mapped ipv6 addresses match ipv4 blocks and vice versa",
          "[auth][cidr]") {
  CHECK(block("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
  CHECK_FALSE(block("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
  auto mapped = block("::ffff:10.0.0.0/104");
  CHECK(mapped == block("10.0.0.0/8"));
  CHECK(mapped.to_string() == "10.0.0.0/8");
  CHECK(mapped.contains(ip("10.9.9.9")));
  // ::/0 covers the mapped range, hence every IPv4 address.
  CHECK(block("::/0").contains(ip("198.51.100.1")));
}

TEST_CASE("cidr parsing masks host bits and rejects bad prefixes",
          "[auth][cidr]") {
  auto sloppy = block("10.1.2.3/8");
  CHECK(sloppy.host_bits_were_set());
  CHECK(sloppy == block("10.0.0.0/8"));
  CHECK(sloppy.to_string() == "10.0.0.0/8");
  CHECK_FALSE(block("10.0.0.0/8").host_bits_were_set());
  CHECK(block("2001:db8::1/32").to_string() == "2001:db8::/32");
  for (auto bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1",
                   "10.0.0.0/+8", "::/129", "/8", "10.0.0.0/8/8", "10.0.0/8",
                   " 10.0.0.0/8", "10.0.0.0/8 "})
    CHECK_FALSE(cidr_block::parse(bad));
  std::string invalid;
  CHECK(parse_cidr_list({" 10.0.0.0/8", "", "::1 "}, &invalid)->size() == 2);
  CHECK_FALSE(parse_cidr_list({"10.0.0.0/8", "nonsense"}, &invalid));
  CHECK(invalid == "nonsense");
}

TEST_CASE("an empty ip filter allows everyone", "[auth][ip_filter]") {
  ip_filter none;
  CHECK(none.empty());
  CHECK(none.decide(ip("203.0.113.1")) == ip_decision::allow);
  CHECK(none.decide("not an address") == ip_decision::allow);
}

TEST_CASE("deny rules win over allow rules", "[auth][ip_filter]") {
  auto f = filter({"10.0.0.0/8"}, {"10.66.0.0/16"});
  CHECK(f.decide(ip("10.1.1.1")) == ip_decision::allow);
  CHECK(f.decide(ip("10.66.1.1")) == ip_decision::deny);
  CHECK(f.decide(ip("::ffff:10.66.1.1")) == ip_decision::deny);
  // Same block in both lists: still denied.
  auto both = filter({"192.0.2.0/24"}, {"192.0.2.0/24"});
  CHECK(both.decide(ip("192.0.2.5")) == ip_decision::deny);
}

TEST_CASE("an allow list is exhaustive", "[auth][ip_filter]") {
  auto f = filter({"10.0.0.0/8", "2001:db8::/32"}, {});
  CHECK(f.decide(ip("10.2.3.4")) == ip_decision::allow);
  CHECK(f.decide(ip("2001:db8::7")) == ip_decision::allow);
  CHECK(f.decide(ip("::ffff:10.2.3.4")) == ip_decision::allow);
  CHECK(f.decide(ip("192.0.2.1")) == ip_decision::deny);
  CHECK(f.decide(ip("2001:db9::7")) == ip_decision::deny);
  SECTION("and unparsable addresses cannot pass it") {
    CHECK(f.decide("unknown") == ip_decision::deny);
    CHECK(f.decide("10.2.3.4") == ip_decision::allow);
  }
}

TEST_CASE("a deny-only filter allows everything else", "[auth][ip_filter]") {
  auto f = filter({}, {"198.51.100.0/24", "2001:db8:bad::/48"});
  CHECK(f.decide(ip("198.51.100.9")) == ip_decision::deny);
  CHECK(f.decide(ip("2001:db8:bad::1")) == ip_decision::deny);
  CHECK(f.decide(ip("198.51.101.9")) == ip_decision::allow);
  CHECK(f.decide("garbage") == ip_decision::allow);
}

TEST_CASE("a filter with or without one rule decides like the changed list",
          "[auth][ip_filter]") {
  auto admin = ip("127.0.0.1");
  auto none = filter({}, {});
  CHECK(none.with_rule(block("127.0.0.0/8"), ip_decision::deny).decide(admin)
        == ip_decision::deny);
  // The first allow rule makes the list exhaustive.
  CHECK(none.with_rule(block("10.0.0.0/8"), ip_decision::allow).decide(admin)
        == ip_decision::deny);
  auto mine = none.with_rule(block("127.0.0.1/32"), ip_decision::allow);
  CHECK(mine.with_rule(block("10.0.0.0/8"), ip_decision::allow).decide(admin)
        == ip_decision::allow);
  auto both = mine.with_rule(block("10.0.0.0/8"), ip_decision::allow);
  CHECK(
      both.without_rule(block("127.0.0.1/32"), ip_decision::allow).decide(admin)
      == ip_decision::deny);
  // Only the list named loses the rule; the original is unchanged.
  CHECK(
      both.without_rule(block("127.0.0.1/32"), ip_decision::deny).decide(admin)
      == ip_decision::allow);
  CHECK(both.allow_rules().size() == 2);
  // A copy of the same rule from elsewhere (configuration) stays.
  auto twice = both.with_rule(block("127.0.0.1/32"), ip_decision::allow);
  CHECK(twice.without_rule(block("127.0.0.1/32"), ip_decision::allow)
            .decide(admin)
        == ip_decision::allow);
}
