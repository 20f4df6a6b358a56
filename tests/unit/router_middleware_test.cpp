#include <catch2/catch.hpp>

#include <zlib.h>

#include "auth/url.hpp"
#include "front/errors.hpp"
#include "front/middleware.hpp"
#include "front/router.hpp"

using namespace authsvc::http;

TEST_CASE("routes match templates and capture parameters", "[http][router]") {
  router<int> r;
  r.add("GET", "/v1/me/sessions", 1);
  r.add("DELETE", "/v1/me/sessions/{id}", 2);
  r.add("GET", "/health", 3);
  using outcome = router<int>::outcome;
  auto m = r.find("DELETE", "/v1/me/sessions/abc");
  REQUIRE(m.result == outcome::found);
  CHECK(m.hit->handler == 2);
  CHECK(m.params.at("id") == "abc");
  CHECK(r.find("GET", "/v1/me/sessions").hit->handler == 1);
  CHECK(r.find("GET", "/v1/me/sessions/").result == outcome::not_found);
  CHECK(r.find("GET", "/v1/me/other").result == outcome::not_found);
  auto bad = r.find("POST", "/v1/me/sessions/abc");
  CHECK(bad.result == outcome::method_not_allowed);
  CHECK(bad.allowed == std::vector<std::string>{"DELETE"});
  auto head = r.find("HEAD", "/health");
  REQUIRE(head.result == outcome::found);
  CHECK(head.hit->handler == 3);
  CHECK(r.find("POST", "/health").allowed
        == std::vector<std::string>{"GET", "HEAD"});
}

TEST_CASE("request ids are validated", "[http][middleware]") {
  CHECK(valid_request_id("abc-123_x.y"));
  CHECK_FALSE(valid_request_id(""));
  CHECK_FALSE(valid_request_id(std::string(129, 'a')));
  CHECK_FALSE(valid_request_id("a b"));
  request req;
  req.headers = {{"x-request-id", "mine"}};
  CHECK(resolve_request_id(req) == "mine");
  req.headers = {{"X-Request-ID", "bad id"}};
  auto id = resolve_request_id(req);
  CHECK(id.size() == 32);
  CHECK(id != resolve_request_id(req));
}

TEST_CASE("security headers: HSTS only over HTTPS", "[http][middleware]") {
  response r;
  apply_security_headers(r, false, 31536000);
  CHECK(r.header("X-Frame-Options") == "DENY");
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
  CHECK(r.header("Content-Security-Policy") == api_csp);
  CHECK(r.header("Strict-Transport-Security").empty());
  response page;
  page.set_header("Content-Security-Policy", page_csp);
  apply_security_headers(page, true, 100);
  CHECK(page.header("Content-Security-Policy") == page_csp);
  CHECK(page.header("Strict-Transport-Security")
        == "max-age=100; includeSubDomains");
}

TEST_CASE("CORS preflights are answered only for allowed origins",
          "[http][middleware]") {
  cors_policy cors({"https://app.example.com"});
  request pre;
  pre.method = "OPTIONS";
  pre.headers = {{"Origin", "https://app.example.com"},
                 {"Access-Control-Request-Method", "POST"}};
  REQUIRE(cors_policy::is_preflight(pre));
  auto ok = cors.preflight(pre, {"POST"}, "rid");
  CHECK(ok.status == 204);
  CHECK(ok.header("Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(ok.header("Access-Control-Allow-Credentials").empty());
  auto wrong_method = cors.preflight(pre, {"GET"}, "rid");
  CHECK(wrong_method.status == 403);
  pre.headers[0].value = "https://app.example.com.evil.com";
  CHECK(cors.preflight(pre, {"POST"}, "rid").status == 403);
  cors_policy any({"*"});
  pre.headers[0].value = "https://x.example";
  CHECK(
      any.preflight(pre, {"POST"}, "rid").header("Access-Control-Allow-Origin")
      == "*");
  CHECK_FALSE(any.origin_allowed("null"));
}

TEST_CASE("gzip output inflates back to the input", "[http][middleware]") {
  std::string text(5000, 'a');
  for (std::size_t i = 0; i < text.size(); i += 7)
    text[i] = 'b';
  auto z = gzip(text);
  REQUIRE(!z.empty());
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out(text.size() + 10, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(z.data());
  zs.avail_in = static_cast<uInt>(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  CHECK(out == text);
  request req;
  req.headers = {{"Accept-Encoding", "br, gzip;q=0.5"}};
  response r;
  r.set_header("Content-Type", "application/json");
  r.body = text;
  maybe_compress(req, r);
  CHECK(r.header("Content-Encoding") == "gzip");
  response img;
  img.set_header("Content-Type", "image/png");
  img.body = text;
  maybe_compress(req, img);
  CHECK(img.header("Content-Encoding").empty());
}

TEST_CASE("JSON bodies: 415, 400 and 422 are told apart",
          "[http][middleware]") {
  request req;
  req.body = R"({"a":1})";
  CHECK(parse_json_body(req).error->code == "unsupported_media_type");
  req.headers = {{"Content-Type", "text/plain"}};
  CHECK(parse_json_body(req).error->code == "unsupported_media_type");
  req.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  CHECK(parse_json_body(req).value->at("a") == 1);
  req.body = R"({"a":)";
  CHECK(parse_json_body(req).error->code == "invalid_json");
  req.body = "[1,2]";
  CHECK(parse_json_body(req).error->code == "validation_failed");
  req.body = "\xff\xfe";
  CHECK(parse_json_body(req).error->code == "invalid_json");
}

TEST_CASE("errors have one shape and a status per code", "[http][errors]") {
  auto r
      = error_response({"invalid_code", {}, {{"field", "code"}}, 0}, "rid-1");
  CHECK(r.status == 400);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["error"]["code"] == "invalid_code");
  CHECK(j["error"]["request_id"] == "rid-1");
  CHECK(j["error"]["details"]["field"] == "code");
  CHECK(status_for("rate_limited") == 429);
  CHECK(status_for("refresh_token_reused") == 401);
  CHECK(status_for("no_such_code") == 500);
}

TEST_CASE("forms and percent-encoding decode strictly", "[http][middleware]") {
  CHECK(*authsvc::auth::form_url_decode("a%20b+c") == "a b c");
  CHECK_FALSE(authsvc::auth::form_url_decode("%zz"));
  CHECK_FALSE(authsvc::auth::form_url_decode("%2"));
  auto f = parse_form("token=abc%2Ddef&x=&token=second&bad=%G0");
  CHECK(*form_value(f, "token") == "abc-def");
  CHECK(*form_value(f, "x") == "");
  CHECK_FALSE(form_value(f, "bad"));
  CHECK(html_escape("<a href=\"x\">&'")
        == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}
