#include <catch2/catch.hpp>

#include "auth/url.hpp"

using namespace authsvc::auth;

TEST_CASE("absolute http urls parse into their parts", "[auth][url]") {
  auto u = parse_url("HTTPS://App.Example.COM:8443/cb/x?a=1#frag");
  REQUIRE(u);
  CHECK(u->scheme == "https");
  CHECK(u->host == "app.example.com");
  CHECK(u->port == 8443);
  CHECK(u->path == "/cb/x");
  CHECK(u->query == "a=1");
  CHECK(u->has_fragment);
  CHECK(u->origin() == "https://app.example.com:8443");
  CHECK(parse_url("http://example.com")->path == "/");
  CHECK(parse_url("http://example.com")->port == 80);
  CHECK(parse_url("https://example.com?x")->path == "/");
  auto v6 = parse_url("http://[2001:DB8::1]:8080/");
  REQUIRE(v6);
  CHECK(v6->host == "2001:db8::1");
  CHECK(v6->host_address);
  CHECK(v6->origin() == "http://[2001:db8::1]:8080");
  CHECK(parse_url("http://192.0.2.1/")->host_address);
}

TEST_CASE("ambiguous or non-http urls are refused", "[auth][url]") {
  for (auto bad : {"",
                   "example.com",
                   "//example.com/",
                   "/relative",
                   "ftp://example.com/",
                   "javascript:alert(1)",
                   "https://user:pw@example.com/",
                   "https://app.example.com@evil.com/",
                   "https://evil.com\\@app.example.com/",
                   "https://exa mple.com/",
                   "https://example.com/a b",
                   "https://example.com/\n",
                   "https://ex%61mple.com/",
                   "https:///path",
                   "https://example.com:0/",
                   "https://example.com:65536/",
                   "https://example.com:/",
                   "https://example.com:8o/",
                   "https://example.com./",
                   "https://-example.com/",
                   "https://exa_mple.com/",
                   "http://2130706433/",
                   "http://0x7f.0.0.1/",
                   "http://127.1/",
                   "http://[192.0.2.1]/",
                   "http://[::1/",
                   "http://[::1]x/",
                   "https://b\xc3\xbc"
                   "cher.example/"})
    CHECK_FALSE(parse_url(bad));
}

TEST_CASE("redirect prefixes match on host and path boundaries",
          "[auth][url][redirect]") {
  std::vector<std::string> allow{"https://app.example.com/cb",
                                 "https://app.example.com:8443/",
                                 "http://localhost:3000/done/"};
  struct row {
    const char* target;
    bool allowed;
  };
  auto r = GENERATE(values<row>({
      {"https://app.example.com/cb", true},
      {"https://app.example.com/cb/", true},
      {"https://app.example.com/cb/deep/er?x=1", true},
      {"https://app.example.com/cb?next=/", true},
      {"https://APP.example.com/cb", true},
      {"https://app.example.com:443/cb", true},
      {"https://app.example.com/cbx", false},
      {"https://app.example.com/c", false},
      {"https://app.example.com/", false},
      {"https://app.example.com.evil.com/cb", false},
      {"https://evil.app.example.com/cb", false},
      {"https://app.example.com@evil.com/cb", false},
      {"http://app.example.com/cb", false},
      {"https://app.example.com:444/cb", false},
      {"https://app.example.com:8443/anything", true},
      {"https://app.example.com:8443", true},
      {"https://app.example.com/cb/../admin", false},
      {"https://app.example.com/cb/%2e%2E/admin", false},
      {"https://app.example.com/cb/./x", false},
      {"https://app.example.com/cb%2f..%2fadmin", false},
      {"https://app.example.com/cb#code=x", false},
      {"http://localhost:3000/done/", true},
      {"http://localhost:3000/done", false},
      {"http://localhost:3000/done/ok", true},
      {"https://app.example.com\\@evil.com/cb", false},
      {"//app.example.com/cb", false},
      {"/cb", false},
  }));
  INFO(r.target);
  CHECK(redirect_allowed(r.target, allow) == r.allowed);
}

TEST_CASE("a broken redirect prefix matches nothing", "[auth][url][redirect]") {
  CHECK_FALSE(redirect_allowed("https://a.example/",
                               std::vector<std::string>{"a.example"}));
  CHECK_FALSE(
      redirect_allowed("https://a.example/x?q",
                       std::vector<std::string>{"https://a.example/x?q"}));
  CHECK_FALSE(
      redirect_allowed("https://a.example/", std::vector<std::string>{}));
}

TEST_CASE("ssrf targets are classified and forbidden", "[auth][url][ssrf]") {
  struct row {
    const char* address;
    address_scope scope;
    bool forbidden;         // with allow_private = false
    bool forbidden_private; // with allow_private = true
  };
  using s = address_scope;
  auto r = GENERATE(values<row>({
      {"93.184.216.34", s::public_unicast, false, false},
      {"2606:4700::1111", s::public_unicast, false, false},
      {"127.0.0.1", s::loopback, true, false},
      {"127.255.0.9", s::loopback, true, false},
      {"::1", s::loopback, true, false},
      {"10.1.2.3", s::private_network, true, false},
      {"172.16.0.1", s::private_network, true, false},
      {"172.31.255.255", s::private_network, true, false},
      {"172.32.0.1", s::public_unicast, false, false},
      {"192.168.0.1", s::private_network, true, false},
      {"100.64.0.1", s::shared_cgnat, true, false},
      {"100.127.255.255", s::shared_cgnat, true, false},
      {"100.128.0.1", s::public_unicast, false, false},
      {"fd00::1", s::unique_local, true, false},
      {"fc00::1", s::unique_local, true, false},
      {"169.254.169.254", s::link_local, true, true},
      {"fe80::1", s::link_local, true, true},
      {"224.0.0.1", s::multicast, true, true},
      {"ff02::1", s::multicast, true, true},
      {"0.0.0.0", s::unspecified, true, true},
      {"0.1.2.3", s::unspecified, true, true},
      {"::", s::unspecified, true, true},
      {"255.255.255.255", s::reserved, true, true},
      {"240.0.0.1", s::reserved, true, true},
      {"::127.0.0.1", s::reserved, true, true},
      {"::ffff:127.0.0.1", s::loopback, true, false},
      {"::ffff:169.254.169.254", s::link_local, true, true},
      {"::ffff:10.0.0.1", s::private_network, true, false},
      {"::ffff:93.184.216.34", s::public_unicast, false, false},
      {"64:ff9b::7f00:1", s::loopback, true, false},
      {"64:ff9b::a9fe:a9fe", s::link_local, true, true},
      {"2002:c0a8:0101::1", s::private_network, true, false},
      {"fec0::1", s::reserved, true, true},
  }));
  INFO(r.address);
  auto address = ip_address::parse(r.address);
  REQUIRE(address);
  CHECK(classify_address(*address) == r.scope);
  CHECK(is_forbidden_target(*address, false) == r.forbidden);
  CHECK(is_forbidden_target(*address, true) == r.forbidden_private);
}

TEST_CASE("a redirect allow list entry matches its origin exactly and whole "
          "path segments, never a string prefix",
          "[auth][url][redirect]") {
  std::vector<std::string> allow{"https://app.example/cb",
                                 "https://app.example:8443/api/"};
  struct row {
    const char* target;
    bool allowed;
  };
  auto r = GENERATE(values<row>({
      {"https://app.example/cb", true},
      {"https://app.example/cb/", true},
      {"https://app.example/cb/next", true},
      {"https://app.example/cb;x", false},
      {"https://app.example/cbevil", false},
      {"https://app.example/cb.evil", false},
      {"https://app.example.evil.com/cb", false},
      {"https://app.example.evil.com/cb/x", false},
      {"https://app.examplE/cb", true},
      {"https://app.example:443/cb", true},
      {"https://app.example:8443/cb", false},
      {"http://app.example:443/cb", false},
      {"https://app.example:8443/api/x", true},
      {"https://app.example:8443/api", false},
      {"https://app.example:8443/apix", false},
      {"https://app.example/api/x", false},
      // Path parameters on dot segments: servers such as Tomcat resolve
      // `/cb/..;/admin` to `/admin`, out of the allowed path.
      {"https://app.example/cb/..;/admin", false},
      {"https://app.example/cb/.;x/y", false},
      {"https://app.example/cb/%2e%2E;jsessionid=1/admin", false},
      {"https://app.example/cb/...;x", true},
  }));
  INFO(r.target);
  CHECK(redirect_allowed(r.target, allow) == r.allowed);
}

TEST_CASE("a confirmation form post must come from our own origin",
          "[auth][url][csrf]") {
  const char* ours = "http://localhost:3000";
  SECTION("Sec-Fetch-Site decides when present") {
    CHECK(form_post_same_origin("", "same-origin", ours));
    CHECK(form_post_same_origin("null", "same-origin", ours));
    CHECK(form_post_same_origin("", "none", ours));
    CHECK_FALSE(form_post_same_origin("", "same-site", ours));
    CHECK_FALSE(form_post_same_origin("", "cross-site", ours));
    CHECK_FALSE(form_post_same_origin(ours, "cross-site", ours));
    CHECK_FALSE(form_post_same_origin(ours, "bogus", ours));
  }
  SECTION("otherwise Origin must equal the public origin") {
    CHECK(form_post_same_origin("http://localhost:3000", "", ours));
    CHECK(form_post_same_origin("http://LOCALHOST:3000", "", ours));
    CHECK(form_post_same_origin("https://auth.example", "",
                                "https://auth.example:443/base/"));
    CHECK_FALSE(form_post_same_origin("", "", ours));
    CHECK_FALSE(form_post_same_origin("null", "", ours));
    CHECK_FALSE(form_post_same_origin("http://localhost:3001", "", ours));
    CHECK_FALSE(form_post_same_origin("https://localhost:3000", "", ours));
    CHECK_FALSE(
        form_post_same_origin("http://localhost:3000.evil.example", "", ours));
    CHECK_FALSE(form_post_same_origin("http://localhost:3000/", "", ours));
    CHECK_FALSE(form_post_same_origin("http://localhost:3000/x", "", ours));
    CHECK_FALSE(form_post_same_origin("http://evil.example", "", ours));
  }
}
