#include <catch2/catch.hpp>

#include "auth/client_ip.hpp"

using namespace authsvc::auth;

namespace {

ip_address ip(std::string_view text) {
  auto parsed = ip_address::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

proxy_trust trust(std::vector<std::string> cidrs,
                  forwarded_header_mode mode
                  = forwarded_header_mode::x_forwarded_for) {
  auto blocks = parse_cidr_list(cidrs);
  REQUIRE(blocks);
  return proxy_trust{*blocks, mode};
}

std::string client(const proxy_trust& t, std::string_view peer,
                   forwarding_headers h) {
  return resolve_client_ip(ip(peer), h, t).to_string();
}

forwarding_headers xff(std::string_view value) {
  forwarding_headers h;
  h.x_forwarded_for = value;
  return h;
}

forwarding_headers fwd(std::string_view value) {
  forwarding_headers h;
  h.forwarded = value;
  return h;
}

} // namespace

TEST_CASE("x-forwarded-for from an untrusted peer is ignored",
          "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8"});
  CHECK(client(t, "203.0.113.7", xff("1.2.3.4")) == "203.0.113.7");
  CHECK(client(t, "203.0.113.7", fwd("for=1.2.3.4")) == "203.0.113.7");
  // With no trusted proxies at all nobody can forward.
  CHECK(client(trust({}), "10.0.0.1", xff("1.2.3.4")) == "10.0.0.1");
  // A mapped peer address comes back unmapped.
  CHECK(client(t, "::ffff:203.0.113.7", xff("1.2.3.4")) == "203.0.113.7");
}

TEST_CASE("x-forwarded-for from a trusted peer is honoured",
          "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8"});
  CHECK(client(t, "10.0.0.1", xff("198.51.100.4")) == "198.51.100.4");
  CHECK(client(t, "::ffff:10.0.0.1", xff("198.51.100.4")) == "198.51.100.4");
  CHECK(client(t, "10.0.0.1", {}) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", xff("2001:db8::5")) == "2001:db8::5");
  CHECK(client(t, "10.0.0.1", xff("[2001:db8::5]:443")) == "2001:db8::5");
  CHECK(client(t, "10.0.0.1", xff("198.51.100.4:5555")) == "198.51.100.4");
}

TEST_CASE("a client cannot spoof its way past the right-most untrusted hop",
          "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8"});
  // The client sent "X-Forwarded-For: 6.6.6.6"; our proxy appended the
  // address it saw.
  CHECK(client(t, "10.0.0.1", xff("6.6.6.6, 198.51.100.4")) == "198.51.100.4");
  // Claiming to be one of our proxies does not help either.
  CHECK(client(t, "10.0.0.1", xff("10.9.9.9, 198.51.100.4")) == "198.51.100.4");
}

TEST_CASE("a chain of trusted proxies is skipped", "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8", "2001:db8:1::/48"});
  CHECK(client(t, "10.0.0.1", xff("198.51.100.4, 10.0.0.3, 10.0.0.2"))
        == "198.51.100.4");
  // Repeated headers joined with commas, empty elements skipped.
  CHECK(client(t, "10.0.0.1", xff("6.6.6.6,198.51.100.4,,10.0.0.2, "))
        == "198.51.100.4");
  CHECK(client(t, "10.0.0.1", xff("198.51.100.4, 2001:db8:1::9"))
        == "198.51.100.4");
  // Only proxies on the path: the left-most one is the client.
  CHECK(client(t, "10.0.0.1", xff("10.0.0.3, 10.0.0.2")) == "10.0.0.3");
}

TEST_CASE("a malformed hop stops the walk at the last trusted hop",
          "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8"});
  CHECK(client(t, "10.0.0.1", xff("198.51.100.4, garbage, 10.0.0.2"))
        == "10.0.0.2");
  CHECK(client(t, "10.0.0.1", xff("198.51.100.4, unknown")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", xff("1.2.3.4:99999")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", xff("[1.2.3.4]")) == "10.0.0.1");
}

TEST_CASE("forwarded headers with quoted ipv6 and ports are understood",
          "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8", "2001:db8:1::/48"},
                 forwarded_header_mode::forwarded);
  CHECK(client(t, "10.0.0.1", fwd(R"(for="[2001:db8:cafe::17]:4711")"))
        == "2001:db8:cafe::17");
  CHECK(client(t, "10.0.0.1", fwd(R"(for="[2001:db8:cafe::17]")"))
        == "2001:db8:cafe::17");
  CHECK(client(t, "10.0.0.1", fwd(R"(for="198.51.100.4:80")"))
        == "198.51.100.4");
  CHECK(client(t, "10.0.0.1", fwd(R"(for="198.51.100.4:_priv")"))
        == "198.51.100.4");
  // RFC 7239 §7.1's example, with our proxy's element appended.
  CHECK(client(t, "10.0.0.1",
               fwd("for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;"
                   "proto=http;host=example.com, For=10.0.0.7"))
        == "198.51.100.17");
  // Case-insensitive names, spaces around ';', quoted commas kept inside.
  CHECK(client(t, "10.0.0.1",
               fwd(R"(for=6.6.6.6,FOR="[2001:db8::a]:1" ; by="x,y")"))
        == "2001:db8::a");
  CHECK(client(t, "2001:db8:1::2",
               fwd(R"(for=198.51.100.4;proto=https, for="[2001:db8:1::9]")"))
        == "198.51.100.4");
}

TEST_CASE("malformed forwarded elements stop the walk", "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8"}, forwarded_header_mode::forwarded);
  // Unbracketed IPv6, unknown/obfuscated nodes, missing for=, duplicates.
  CHECK(client(t, "10.0.0.1", fwd("for=2001:db8::1")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd("for=unknown")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd("for=_hidden")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd("proto=https")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd("for=1.2.3.4;for=10.0.0.9")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd(R"(for="1.2.3.4)")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd(R"(for="1.2.3.4"x)")) == "10.0.0.1");
  CHECK(client(t, "10.0.0.1", fwd("for=198.51.100.4, for=junk, for=10.0.0.2"))
        == "10.0.0.2");
  // The mode decides the header: XFF is not read in forwarded mode.
  forwarding_headers both = fwd("for=198.51.100.4");
  both.x_forwarded_for = "6.6.6.6";
  CHECK(client(t, "10.0.0.1", both) == "198.51.100.4");
}

TEST_CASE("https is taken from a trusted proxy only", "[auth][client_ip]") {
  auto t = trust({"10.0.0.0/8"});
  forwarding_headers h = xff("198.51.100.4");
  h.x_forwarded_proto = "https";
  CHECK(client_used_https(ip("10.0.0.1"), false, h, t));
  CHECK_FALSE(client_used_https(ip("203.0.113.1"), false, h, t));
  CHECK(client_used_https(ip("203.0.113.1"), true, h, t));
  h.x_forwarded_proto = "http";
  CHECK_FALSE(client_used_https(ip("10.0.0.1"), true, h, t));
  SECTION("one proto per hop picks the client's hop") {
    h.x_forwarded_for = "198.51.100.4, 10.0.0.2";
    h.x_forwarded_proto = "https, http";
    CHECK(client_used_https(ip("10.0.0.1"), false, h, t));
    h.x_forwarded_proto = "https, http, http";
    CHECK_FALSE(client_used_https(ip("10.0.0.1"), false, h, t));
  }
  SECTION("forwarded proto comes from the client's element") {
    auto ft = trust({"10.0.0.0/8"}, forwarded_header_mode::forwarded);
    auto f = fwd("for=198.51.100.4;proto=https, for=10.0.0.2;proto=http");
    CHECK(client_used_https(ip("10.0.0.1"), false, f, ft));
    CHECK_FALSE(client_used_https(ip("10.0.0.1"), false,
                                  fwd("for=198.51.100.4;proto=http"), ft));
  }
}

TEST_CASE("ipv6 clients are rate limited per /64", "[auth][client_ip]") {
  CHECK(rate_limit_key(ip("198.51.100.4")) == "198.51.100.4");
  CHECK(rate_limit_key(ip("::ffff:198.51.100.4")) == "198.51.100.4");
  CHECK(rate_limit_key(ip("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64");
  CHECK(rate_limit_key(ip("2001:db8:1:2:bbbb::9"))
        == rate_limit_key(ip("2001:db8:1:2::1")));
}
