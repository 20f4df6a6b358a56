// The OpenID Provider's protocol pieces (auth/oauth): PKCE with the RFC 7636
// Appendix B vector, scopes, redirect URIs, Basic credentials, the
// authorization request's checks and where their errors go, ID token claims.
#include <catch2/catch.hpp>

#include "auth/oauth.hpp"

using namespace authsvc::auth::oauth;

namespace {

client_view client(bool is_public = false) {
  return {"pa_client", is_public, false, {"https://app.example/cb"}};
}

raw_query query(std::vector<std::pair<std::string, std::string>> extra = {},
                bool base = true) {
  raw_query q;
  if (base)
    q.pairs = {{"response_type", "code"},
               {"client_id", "pa_client"},
               {"redirect_uri", "https://app.example/cb"},
               {"scope", "openid email"},
               {"state", "s1"}};
  for (auto& p : extra)
    q.pairs.push_back(p);
  return q;
}

const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

} // namespace

TEST_CASE("PKCE S256 matches the RFC 7636 Appendix B example",
          "[auth][oauth]") {
  CHECK(pkce_s256_matches(verifier, challenge));
  CHECK_FALSE(pkce_s256_matches(verifier + "x", challenge));
  CHECK_FALSE(pkce_s256_matches("short", challenge));
  CHECK(valid_s256_challenge(challenge));
  CHECK_FALSE(valid_s256_challenge(challenge + "A"));
  CHECK_FALSE(
      valid_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
  CHECK_FALSE(valid_code_verifier(std::string(129, 'a')));
  CHECK_FALSE(valid_code_verifier(std::string(42, 'a')));
  CHECK(valid_code_verifier(std::string(43, '~')));
}

TEST_CASE("at_hash is the left half of SHA-256, base64url", "[auth][oauth]") {
  // Expected value computed independently (Python: base64url of
  // hashlib.sha256(token).digest()[:16]).
  CHECK(at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNY") == "R6A1RlQZBmSI5D-frtniog");
}

TEST_CASE("scopes split on spaces, sorted, unique; bad characters refused",
          "[auth][oauth]") {
  auto s = parse_scope("profile openid  openid email");
  REQUIRE(s);
  CHECK(join_scope(*s) == "email openid profile");
  CHECK_FALSE(parse_scope("openid \"x\""));
  CHECK_FALSE(parse_scope("openid \\x"));
  CHECK(parse_scope("")->empty());
}

TEST_CASE("redirect URIs: https, or http to loopback only; exact match",
          "[auth][oauth]") {
  CHECK(valid_redirect_uri("https://app.example/cb"));
  CHECK(valid_redirect_uri("http://127.0.0.1:8765/cb"));
  CHECK(valid_redirect_uri("http://localhost:9/cb"));
  CHECK(valid_redirect_uri("http://[::1]:9/cb"));
  CHECK_FALSE(valid_redirect_uri("http://app.example/cb"));
  CHECK_FALSE(valid_redirect_uri("https://app.example/cb#x"));
  CHECK_FALSE(valid_redirect_uri("javascript:alert(1)"));
  CHECK_FALSE(valid_redirect_uri("https://user@app.example/cb"));
  std::vector<std::string> reg{"https://app.example/cb"};
  CHECK(redirect_registered("https://app.example/cb", reg));
  CHECK_FALSE(redirect_registered("https://app.example/cb/", reg));
  CHECK_FALSE(redirect_registered("https://app.example/cb?x=1", reg));
  CHECK_FALSE(redirect_registered("https://APP.example/cb", reg));
}

TEST_CASE("with_query appends encoded parameters", "[auth][oauth]") {
  CHECK(with_query("https://a.example/cb", {{"code", "a b"}, {"state", "x&y"}})
        == "https://a.example/cb?code=a%20b&state=x%26y");
  CHECK(with_query("https://a.example/cb?k=v", {{"code", "c"}})
        == "https://a.example/cb?k=v&code=c");
}

TEST_CASE("Basic client credentials are form-decoded (RFC 6749 2.3.1)",
          "[auth][oauth]") {
  // "my%20id:s%3Acret" in base64
  auto c = parse_basic_credentials("Basic bXklMjBpZDpzJTNBY3JldA==");
  REQUIRE(c);
  CHECK(c->first == "my id");
  CHECK(c->second == "s:cret");
  CHECK(parse_basic_credentials("basic bXklMjBpZDpzJTNBY3JldA=="));
  CHECK_FALSE(parse_basic_credentials("Bearer abc"));
  CHECK_FALSE(parse_basic_credentials("Basic !!!"));
  CHECK_FALSE(parse_basic_credentials("Basic bm9jb2xvbg==")); // "nocolon"
  CHECK_FALSE(parse_basic_credentials("Basic JTQ6eA=="));     // "%4:x"
}

TEST_CASE("client and redirect errors are never redirected", "[auth][oauth]") {
  auto c = client();
  CHECK(check_client_and_redirect(query(), c) == std::nullopt);
  auto e = check_client_and_redirect(query(), std::nullopt);
  REQUIRE(e);
  CHECK_FALSE(e->redirect);
  CHECK(e->error == "invalid_client");
  raw_query wrong = query({}, false);
  wrong.pairs = {{"client_id", "pa_client"},
                 {"redirect_uri", "https://evil.example/cb"}};
  e = check_client_and_redirect(wrong, c);
  REQUIRE(e);
  CHECK_FALSE(e->redirect);
  raw_query twice = query({{"redirect_uri", "https://app.example/cb"}});
  CHECK(check_client_and_redirect(twice, c));
  auto disabled = c;
  disabled.disabled = true;
  CHECK(check_client_and_redirect(query(), disabled));
}

TEST_CASE("the other parameters' errors are redirected", "[auth][oauth]") {
  auto refused = [](const raw_query& q, bool is_public = false) {
    auto r = check_authorize_request(q, client(is_public));
    auto* e = std::get_if<authorize_error>(&r);
    REQUIRE(e);
    CHECK(e->redirect);
    return e->error;
  };
  raw_query no_openid = query({}, false);
  no_openid.pairs = {{"response_type", "code"}, {"scope", "email"}};
  CHECK(refused(no_openid) == "invalid_scope");
  raw_query token = query({}, false);
  token.pairs = {{"response_type", "token"}, {"scope", "openid"}};
  CHECK(refused(token) == "unsupported_response_type");
  CHECK(refused(query({{"state", "again"}})) == "invalid_request");
  CHECK(refused(query(), true) == "invalid_request"); // PKCE for public
  CHECK(refused(query({{"code_challenge", challenge},
                       {"code_challenge_method", "plain"}}))
        == "invalid_request");
  CHECK(refused(query({{"prompt", "select_account"}})) == "invalid_request");
  CHECK(refused(query({{"max_age", "-1"}})) == "invalid_request");
  CHECK(refused(query({{"request", "eyJ..."}})) == "request_not_supported");
  auto ok = check_authorize_request(query({{"code_challenge", challenge},
                                           {"code_challenge_method", "S256"},
                                           {"scope_x", "ignored"},
                                           {"max_age", "0"},
                                           {"nonce", "n"}}),
                                    client(true));
  auto* p = std::get_if<authorize_params>(&ok);
  REQUIRE(p);
  CHECK(p->code_challenge == challenge);
  CHECK(p->max_age == 0);
  CHECK(p->nonce == "n");
  CHECK(join_scope(p->scopes) == "email openid");
}

TEST_CASE("ID token claims follow the scopes", "[auth][oauth]") {
  id_token_input in;
  in.issuer = "https://auth.example";
  in.subject = "u1";
  in.client_id = "pa_client";
  in.issued_at = 1000;
  in.ttl = 900;
  in.auth_time = 990;
  in.nonce = "n";
  in.amr = {"otp"};
  in.access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNY";
  in.scopes = {"openid"};
  in.email = "a@example.com";
  in.name = "Ann";
  auto c = id_token_claims(in);
  CHECK(c["aud"] == "pa_client");
  CHECK(c["exp"] == 1900);
  CHECK(c["at_hash"] == "R6A1RlQZBmSI5D-frtniog");
  CHECK_FALSE(c.contains("email"));
  CHECK_FALSE(c.contains("name"));
  in.scopes = {"openid", "email", "profile"};
  c = id_token_claims(in);
  CHECK(c["email"] == "a@example.com");
  CHECK(c["name"] == "Ann");
  auto u = userinfo_claims("u1", {"openid"}, "a@example.com", true, "Ann");
  CHECK(u == nlohmann::json{{"sub", "u1"}});
}
