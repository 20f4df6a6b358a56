#include <catch2/catch.hpp>

#include "auth/browser_cookie.hpp"
#include "auth/crypto.hpp"

using namespace authsvc::auth;

namespace {

const std::string sid = "0f8c2a4e-3b1d-4c5e-9f7a-1b2c3d4e5f60";

} // namespace

TEST_CASE("a minted cookie parses back and its secret matches its hash",
          "[auth][browser]") {
  auto m = mint_browser_cookie(sid);
  CHECK(m.cookie.session_id == sid);
  CHECK(m.cookie.secret.size() == 43);
  CHECK(m.secret_hash == token_hash(m.cookie.secret));
  auto header = "theme=dark; " + std::string(browser_cookie_name) + "="
                + browser_cookie_value(m.cookie) + "; other=1";
  auto c = find_browser_cookie(header);
  REQUIRE(c);
  CHECK(c->session_id == sid);
  CHECK(c->secret == m.cookie.secret);
  CHECK(browser_secret_matches(c->secret, m.secret_hash));
  CHECK_FALSE(browser_secret_matches(mint_browser_cookie(sid).cookie.secret,
                                     m.secret_hash));
  CHECK_FALSE(browser_secret_matches(c->secret, ""));
  // Two mints never share a secret.
  CHECK(mint_browser_cookie(sid).cookie.secret != m.cookie.secret);
}

TEST_CASE("malformed or foreign cookies are not a browser cookie",
          "[auth][browser]") {
  auto good = browser_cookie_value(mint_browser_cookie(sid).cookie);
  auto name = std::string(browser_cookie_name);
  CHECK_FALSE(find_browser_cookie(""));
  CHECK_FALSE(find_browser_cookie("pa_session=" + good));
  CHECK_FALSE(find_browser_cookie("__Secure-pa_session=" + good));
  CHECK_FALSE(find_browser_cookie(name + "="));
  CHECK_FALSE(find_browser_cookie(name + "=" + sid));
  CHECK_FALSE(find_browser_cookie(name + "=" + sid + "."));
  CHECK_FALSE(find_browser_cookie(name + "=" + good + "x"));
  CHECK_FALSE(find_browser_cookie(name + "=x" + good));
  CHECK_FALSE(find_browser_cookie(name + "=\"" + good + "\""));
  CHECK_FALSE(find_browser_cookie(name + "=" + good.substr(0, 36) + "."
                                  + std::string(43, '+')));
  // A broken first copy does not hide a good second one.
  CHECK(find_browser_cookie(name + "=junk; " + name + "=" + good));
  CHECK(find_browser_cookie("  " + name + " = " + good + " "));
}

TEST_CASE("Set-Cookie values carry the __Host- attributes", "[auth][browser]") {
  auto v = set_browser_cookie("abc.def", 3600, true);
  CHECK(v
        == "__Host-pa_session=abc.def; Max-Age=3600; Path=/; HttpOnly; "
           "SameSite=Lax; Secure");
  CHECK(v.find("Domain") == std::string::npos);
  CHECK(set_browser_cookie("abc.def", 10, false).find("Secure")
        == std::string::npos);
  CHECK(set_browser_cookie("abc.def", -5, true).find("Max-Age=0;")
        != std::string::npos);
  CHECK(clear_browser_cookie(true)
        == "__Host-pa_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; "
           "Secure");
}

TEST_CASE("the CSRF token is per secret and compared exactly",
          "[auth][browser]") {
  auto a = mint_browser_cookie(sid).cookie.secret;
  auto b = mint_browser_cookie(sid).cookie.secret;
  auto ta = browser_csrf_token(a);
  CHECK(ta.size() == 43);
  CHECK(ta == browser_csrf_token(a));
  CHECK(ta != browser_csrf_token(b));
  CHECK(ta != a);
  CHECK(browser_csrf_matches(a, ta));
  CHECK_FALSE(browser_csrf_matches(b, ta));
  CHECK_FALSE(browser_csrf_matches(a, ""));
  CHECK_FALSE(browser_csrf_matches(a, ta.substr(1)));
}

TEST_CASE("the CSRF rules: our origin and the session's token",
          "[auth][browser]") {
  const std::string pub = "https://auth.example.com";
  auto secret = mint_browser_cookie(sid).cookie.secret;
  auto token = browser_csrf_token(secret);
  auto check = [&](std::string_view origin, std::string_view site,
                   std::string_view submitted) {
    return check_browser_csrf(origin, site, pub, secret, submitted);
  };
  CHECK(check("https://auth.example.com", "", token) == csrf_verdict::ok);
  CHECK(check("https://auth.example.com", "same-origin", token)
        == csrf_verdict::ok);
  CHECK(check("", "same-origin", token) == csrf_verdict::ok);
  // Cross-site, whatever token it carries.
  for (auto origin :
       {"https://evil.example", "https://auth.example.com:444",
        "http://auth.example.com", "null", "https://auth.example.com/",
        "https://auth.example.com.evil"})
    CHECK(check(origin, "", token) == csrf_verdict::cross_site);
  CHECK(check("", "cross-site", token) == csrf_verdict::cross_site);
  CHECK(check("", "same-site", token) == csrf_verdict::cross_site);
  CHECK(check("", "none", token) == csrf_verdict::cross_site);
  CHECK(check("", "", token) == csrf_verdict::cross_site);
  CHECK(check("https://auth.example.com", "cross-site", token)
        == csrf_verdict::cross_site);
  // Our origin, wrong or missing token.
  CHECK(check("https://auth.example.com", "", "") == csrf_verdict::bad_token);
  CHECK(check("https://auth.example.com", "",
              browser_csrf_token(mint_browser_cookie(sid).cookie.secret))
        == csrf_verdict::bad_token);
  CHECK(browser_request_same_origin("https://auth.example.com", "", pub));
  CHECK_FALSE(browser_request_same_origin("https://evil.example", "", pub));
}

TEST_CASE("return_to accepts same-origin relative paths only",
          "[auth][browser]") {
  const std::string pub = "http://localhost:3000";
  for (auto ok : {"/", "/oauth2/authorize?client_id=a&state=x%20y",
                  "/login?prompt=login", "/a/b/c"})
    CHECK(return_to_allowed(ok, pub));
  for (auto bad :
       {"", "oauth2/authorize", "//evil.example/x", "/\\evil.example",
        "https://evil.example/", "http://localhost:3000/x", "/a/../admin",
        "/a/%2e%2e/admin", "/a#frag", "/a b", "/a\\b", "/a\tb",
        "javascript:alert(1)", "/%2F%2Fevil.example"})
    CHECK_FALSE(return_to_allowed(bad, pub));
  CHECK_FALSE(return_to_allowed("/" + std::string(2048, 'a'), pub));
  CHECK_FALSE(return_to_allowed("/x", "not a url"));
}

TEST_CASE("loopback origins are the ones browsers treat as secure",
          "[auth][browser]") {
  for (auto yes :
       {"http://localhost:3000", "http://LOCALHOST", "http://127.0.0.1:8080",
        "http://127.1.2.3", "http://[::1]:3000", "http://app.localhost:3000",
        "https://localhost"})
    CHECK(loopback_origin(yes));
  for (auto no : {"http://auth.example.com", "http://localhost.example.com",
                  "http://192.168.1.10:3000", "http://[::2]", "not a url", "",
                  "http://notlocalhost"})
    CHECK_FALSE(loopback_origin(no));
}
