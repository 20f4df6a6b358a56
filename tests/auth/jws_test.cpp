// Signing keys (RFC 7638 thumbprints, PKCS#8) and compact JWS, checked
// against our own verifier and the independent PyJWT.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth/crypto.hpp"
#include "auth/jws.hpp"
#include "auth/signing_key.hpp"
#include "tests/run_command.hpp"

using namespace authsvc::auth;
using nlohmann::json;

using authsvc::testing::run_command;

namespace {

constexpr std::int64_t t0 = 1'700'000'000;

json sample_claims(std::int64_t iat = t0, std::int64_t ttl = 900) {
  access_token_params p;
  p.issuer = "https://auth.example.com";
  p.audience = "passwordless-auth";
  p.subject = "user-42";
  p.session_id = "sess-7";
  p.issued_at = iat;
  p.ttl = ttl;
  p.amr = {"webauthn"};
  return make_access_token_claims(p);
}

jws_verify_options options_for(jws_alg alg, std::int64_t now = t0 + 60) {
  jws_verify_options o;
  o.algorithms = {alg};
  o.now = now;
  o.leeway = 0;
  o.issuer = "https://auth.example.com";
  o.audience = "passwordless-auth";
  return o;
}

struct parts {
  std::string header, payload, signature;
  std::string join() const { return header + "." + payload + "." + signature; }
};

parts split(const std::string& token) {
  auto a = token.find('.');
  auto b = token.find('.', a + 1);
  return {token.substr(0, a), token.substr(a + 1, b - a - 1),
          token.substr(b + 1)};
}

std::vector<signing_key> one_key(jws_alg alg) {
  std::vector<signing_key> keys;
  keys.push_back(signing_key::generate(alg));
  return keys;
}

} // namespace

TEST_CASE("the JWK thumbprint of RFC 7638's example key matches",
          "[auth][jwk]") {
  // RFC 7638 §3.1.
  json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R"
       "K7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9"
       "yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZg"
       "nYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6We"
       "Zu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDK"
       "gw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"},
  };
  const std::string expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
  CHECK(jwk_thumbprint(jwk) == expected);
  SECTION("loading it as a public key keeps its kid and alg") {
    auto key = signing_key::from_public_jwk(jwk);
    REQUIRE(key);
    CHECK(key->alg() == jws_alg::rs256);
    CHECK(key->kid() == "2011-04-29");
    CHECK_FALSE(key->has_private_key());
    jwk.erase("kid");
    CHECK(signing_key::from_public_jwk(jwk)->kid() == expected);
  }
  SECTION("a JWK whose alg contradicts its key type is refused") {
    jwk["alg"] = "ES256";
    CHECK_FALSE(signing_key::from_public_jwk(jwk));
  }
  CHECK_FALSE(jwk_thumbprint(json{{"kty", "RSA"}, {"n", "AQAB"}}));
  CHECK_FALSE(jwk_thumbprint(json{{"kty", "oct"}, {"k", "AAAA"}}));
}

TEST_CASE("generated keys export a public JWK whose thumbprint is the kid",
          "[auth][jwk]") {
  auto alg = GENERATE(jws_alg::es256, jws_alg::rs256, jws_alg::eddsa);
  auto key = signing_key::generate(alg);
  auto jwk = key.public_jwk();
  INFO(jwk.dump());
  CHECK(key.has_private_key());
  CHECK(key.alg() == alg);
  CHECK(jwk["kid"] == key.kid());
  CHECK(jwk["alg"] == std::string{to_string(alg)});
  CHECK(jwk["use"] == "sig");
  CHECK(jwk_thumbprint(jwk) == key.kid());
  CHECK_FALSE(jwk.contains("d")); // never the private part
  switch (alg) {
  case jws_alg::es256:
    CHECK(jwk["kty"] == "EC");
    CHECK(jwk["crv"] == "P-256");
    CHECK(base64url_decode(jwk["x"].get<std::string>())->size() == 32);
    CHECK(base64url_decode(jwk["y"].get<std::string>())->size() == 32);
    break;
  case jws_alg::rs256:
    CHECK(jwk["kty"] == "RSA");
    CHECK(jwk["e"] == "AQAB");
    CHECK(base64url_decode(jwk["n"].get<std::string>())->size() == 256);
    break;
  case jws_alg::eddsa:
    CHECK(jwk["kty"] == "OKP");
    CHECK(jwk["crv"] == "Ed25519");
    CHECK(base64url_decode(jwk["x"].get<std::string>())->size() == 32);
    break;
  }
  auto pub = signing_key::from_public_jwk(jwk);
  REQUIRE(pub);
  CHECK(pub->kid() == key.kid());
  CHECK(make_jwks({&key})["keys"][0] == jwk);
}

TEST_CASE("an RSA-3072 key can be generated; other sizes are refused",
          "[auth][jwk]") {
  auto key = signing_key::generate(jws_alg::rs256, 3072);
  CHECK(base64url_decode(key.public_jwk()["n"].get<std::string>())->size()
        == 384);
  CHECK_THROWS_AS(signing_key::generate(jws_alg::rs256, 1024),
                  std::invalid_argument);
}

TEST_CASE("signing keys survive a PKCS#8 round trip", "[auth][jwk]") {
  auto alg = GENERATE(jws_alg::es256, jws_alg::rs256, jws_alg::eddsa);
  auto key = signing_key::generate(alg);
  auto der = key.to_pkcs8_der();
  auto pem = key.to_pkcs8_pem();
  CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  auto from_der = signing_key::from_pkcs8_der(der);
  auto from_pem = signing_key::from_pkcs8_pem(pem);
  REQUIRE(from_der);
  REQUIRE(from_pem);
  CHECK(from_der->kid() == key.kid());
  CHECK(from_pem->kid() == key.kid());
  CHECK(from_der->alg() == alg);
  CHECK(from_der->has_private_key());
  // A token signed by the reloaded key verifies under the original.
  std::vector<signing_key> keys;
  keys.push_back(std::move(key));
  auto token = sign_jws(json::object(), sample_claims(), *from_der);
  CHECK(verify_jws(token, keys, options_for(alg)));
  SECTION("garbage and trailing bytes are refused") {
    CHECK_FALSE(signing_key::from_pkcs8_der({}));
    CHECK_FALSE(signing_key::from_pkcs8_der(bytes(40, 0x30)));
    auto longer = der;
    longer.push_back(0);
    CHECK_FALSE(signing_key::from_pkcs8_der(longer));
    CHECK_FALSE(signing_key::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\n"
                                            "AAAA\n-----END PRIVATE KEY-----"));
  }
  SECTION("a public-only key cannot sign or be exported") {
    auto pub = signing_key::from_public_jwk(keys[0].public_jwk());
    REQUIRE(pub);
    CHECK_THROWS_AS(pub->to_pkcs8_der(), std::logic_error);
    CHECK_THROWS_AS(sign_jws(json::object(), sample_claims(), *pub),
                    std::logic_error);
  }
}

TEST_CASE("keys on other curves are refused", "[auth][jwk]") {
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  REQUIRE(p384 != nullptr);
  unsigned char* der = nullptr;
  int len = i2d_PrivateKey(p384, &der);
  REQUIRE(len > 0);
  bytes blob(der, der + len);
  OPENSSL_free(der);
  EVP_PKEY_free(p384);
  CHECK_FALSE(signing_key::from_pkcs8_der(blob));
  // A P-256 JWK whose point is not on the curve.
  auto jwk = signing_key::generate(jws_alg::es256).public_jwk();
  auto y = *base64url_decode(jwk["y"].get<std::string>());
  y[31] ^= 1;
  jwk["y"] = base64url_encode(y);
  CHECK_FALSE(signing_key::from_public_jwk(jwk));
}

TEST_CASE("a signed token verifies and returns its claims", "[auth][jws]") {
  auto alg = GENERATE(jws_alg::es256, jws_alg::rs256, jws_alg::eddsa);
  auto keys = one_key(alg);
  auto claims = sample_claims();
  auto token = sign_jws(json::object(), claims, keys[0]);
  auto result = verify_jws(token, keys, options_for(alg));
  INFO(to_string(alg));
  REQUIRE(result);
  CHECK(*result == claims);
  CHECK((*result)["amr"] == json::array({"webauthn"}));
  CHECK((*result)["exp"] == t0 + 900);
  CHECK((*result)["jti"].get<std::string>().size() >= 22);
  auto header = json::parse(to_string(*base64url_decode(split(token).header)));
  CHECK(header["alg"] == std::string{to_string(alg)});
  CHECK(header["kid"] == keys[0].kid());
  CHECK(header["typ"] == "JWT");
  if (alg == jws_alg::es256)
    CHECK(base64url_decode(split(token).signature)->size() == 64);
  if (alg == jws_alg::eddsa)
    CHECK(base64url_decode(split(token).signature)->size() == 64);
}

TEST_CASE("tampered tokens are rejected", "[auth][jws]") {
  auto alg = GENERATE(jws_alg::es256, jws_alg::rs256, jws_alg::eddsa);
  auto keys = one_key(alg);
  auto token = sign_jws(json::object(), sample_claims(), keys[0]);
  auto opts = options_for(alg);
  auto p = split(token);
  SECTION("payload") {
    auto claims = sample_claims();
    claims["sub"] = "admin";
    p.payload = base64url_encode(claims.dump());
    CHECK(verify_jws(p.join(), keys, opts).err() == jws_errc::bad_signature);
  }
  SECTION("signature") {
    auto sig = *base64url_decode(p.signature);
    sig[sig.size() / 2] ^= 0x01;
    p.signature = base64url_encode(sig);
    CHECK(verify_jws(p.join(), keys, opts).err() == jws_errc::bad_signature);
  }
  SECTION("header") {
    auto h = json::parse(to_string(*base64url_decode(p.header)));
    h["typ"] = "at+jwt";
    p.header = base64url_encode(h.dump());
    CHECK(verify_jws(p.join(), keys, opts).err() == jws_errc::bad_signature);
  }
  SECTION("truncated signature") {
    p.signature = p.signature.substr(0, p.signature.size() - 4);
    CHECK_FALSE(verify_jws(p.join(), keys, opts));
  }
}

TEST_CASE("alg none, unknown algs and alg/key mismatches are rejected",
          "[auth][jws]") {
  auto keys = one_key(jws_alg::es256);
  auto token = sign_jws(json::object(), sample_claims(), keys[0]);
  auto p = split(token);
  auto with_header = [&](json h, std::string sig) {
    return base64url_encode(h.dump()) + "." + p.payload + "." + sig;
  };
  auto opts = options_for(jws_alg::es256);
  opts.algorithms = {jws_alg::es256, jws_alg::rs256, jws_alg::eddsa};
  const auto& kid = keys[0].kid();
  CHECK(verify_jws(with_header({{"alg", "none"}, {"kid", kid}}, ""), keys, opts)
            .err()
        == jws_errc::unsupported_alg);
  CHECK(verify_jws(with_header({{"alg", "none"}, {"kid", kid}}, p.signature),
                   keys, opts)
            .err()
        == jws_errc::unsupported_alg);
  CHECK(verify_jws(with_header({{"alg", "HS256"}, {"kid", kid}}, p.signature),
                   keys, opts)
            .err()
        == jws_errc::unsupported_alg);
  CHECK(verify_jws(with_header({{"alg", "es256"}, {"kid", kid}}, p.signature),
                   keys, opts)
            .err()
        == jws_errc::unsupported_alg);
  // The header says RS256 but the kid names an EC key.
  CHECK(verify_jws(with_header({{"alg", "RS256"}, {"kid", kid}}, p.signature),
                   keys, opts)
            .err()
        == jws_errc::unsupported_alg);
  // A valid ES256 token while only EdDSA is accepted.
  CHECK(verify_jws(token, keys, options_for(jws_alg::eddsa)).err()
        == jws_errc::unsupported_alg);
}

TEST_CASE("unknown or missing kids are rejected", "[auth][jws]") {
  auto keys = one_key(jws_alg::es256);
  auto other = signing_key::generate(jws_alg::es256);
  auto token = sign_jws(json::object(), sample_claims(), other);
  auto opts = options_for(jws_alg::es256);
  CHECK(verify_jws(token, keys, opts).err() == jws_errc::unknown_kid);
  auto p = split(token);
  p.header = base64url_encode(json{{"alg", "ES256"}}.dump());
  CHECK(verify_jws(p.join(), keys, opts).err() == jws_errc::unknown_kid);
  SECTION("key rotation: the old key still verifies its tokens") {
    keys.push_back(std::move(other));
    CHECK(verify_jws(token, keys, opts));
  }
  SECTION("a lookup function works as the key set") {
    jws_key_lookup lookup = [&](std::string_view kid) {
      return kid == other.kid() ? &other : nullptr;
    };
    CHECK(verify_jws(token, lookup, opts));
  }
}

TEST_CASE("time claims are enforced with leeway", "[auth][jws]") {
  auto keys = one_key(jws_alg::eddsa);
  auto token = sign_jws(json::object(), sample_claims(t0, 900), keys[0]);
  auto at = [&](std::int64_t now, std::int64_t leeway = 0) {
    auto o = options_for(jws_alg::eddsa, now);
    o.leeway = leeway;
    return verify_jws(token, keys, o);
  };
  CHECK(at(t0));
  CHECK(at(t0 + 899));
  CHECK(at(t0 + 900).err() == jws_errc::expired);
  CHECK(at(t0 + 929, 30));
  CHECK(at(t0 + 930, 30).err() == jws_errc::expired);
  CHECK(at(t0 - 1).err() == jws_errc::not_yet_valid); // iat in the future
  CHECK(at(t0 - 30, 30));
  SECTION("nbf") {
    auto claims = sample_claims();
    claims["nbf"] = t0 + 100;
    auto t = sign_jws(json::object(), claims, keys[0]);
    auto o = options_for(jws_alg::eddsa, t0 + 99);
    CHECK(verify_jws(t, keys, o).err() == jws_errc::not_yet_valid);
    o.now = t0 + 100;
    CHECK(verify_jws(t, keys, o));
  }
  SECTION("missing or non-numeric exp is malformed") {
    auto claims = sample_claims();
    claims.erase("exp");
    auto t = sign_jws(json::object(), claims, keys[0]);
    auto o = options_for(jws_alg::eddsa);
    CHECK(verify_jws(t, keys, o).err() == jws_errc::malformed);
    o.require_exp = false;
    CHECK(verify_jws(t, keys, o));
    claims["exp"] = "tomorrow";
    t = sign_jws(json::object(), claims, keys[0]);
    CHECK(verify_jws(t, keys, o).err() == jws_errc::malformed);
    claims["exp"] = 1e300;
    t = sign_jws(json::object(), claims, keys[0]);
    CHECK(verify_jws(t, keys, o).err() == jws_errc::malformed);
  }
}

TEST_CASE("wrong issuer or audience is rejected", "[auth][jws]") {
  auto keys = one_key(jws_alg::es256);
  auto token = sign_jws(json::object(), sample_claims(), keys[0]);
  auto opts = options_for(jws_alg::es256);
  opts.issuer = "https://evil.example.com";
  CHECK(verify_jws(token, keys, opts).err() == jws_errc::wrong_issuer);
  opts.issuer = "";
  CHECK(verify_jws(token, keys, opts).err() == jws_errc::wrong_issuer);
  opts = options_for(jws_alg::es256);
  opts.audience = "other-service";
  CHECK(verify_jws(token, keys, opts).err() == jws_errc::wrong_audience);
  opts.audience = "";
  CHECK(verify_jws(token, keys, opts).err() == jws_errc::wrong_audience);
  SECTION("an audience array containing ours is accepted") {
    auto claims = sample_claims();
    claims["aud"] = {"x", "passwordless-auth"};
    auto t = sign_jws(json::object(), claims, keys[0]);
    CHECK(verify_jws(t, keys, options_for(jws_alg::es256)));
    claims["aud"] = {"x", "y"};
    t = sign_jws(json::object(), claims, keys[0]);
    CHECK(verify_jws(t, keys, options_for(jws_alg::es256)).err()
          == jws_errc::wrong_audience);
  }
}

TEST_CASE("malformed tokens are rejected before any crypto", "[auth][jws]") {
  auto keys = one_key(jws_alg::es256);
  auto token = sign_jws(json::object(), sample_claims(), keys[0]);
  auto opts = options_for(jws_alg::es256);
  auto p = split(token);
  auto bad = [&](const std::string& t) {
    auto r = verify_jws(t, keys, opts);
    return !r && r.err() == jws_errc::malformed;
  };
  CHECK(bad(""));
  CHECK(bad("abc"));
  CHECK(bad(p.header + "." + p.payload));
  CHECK(bad(token + "." + p.signature));     // four parts
  CHECK(bad(p.header + ".." + p.signature)); // empty payload
  CHECK(bad(p.header + "=." + p.payload + "." + p.signature));
  CHECK(bad(p.header + "." + p.payload + "!." + p.signature));
  CHECK(bad(p.header + "." + p.payload + "." + p.signature + "+"));
  CHECK(bad(std::string(max_jws_size + 1, 'a')));
  CHECK(bad(base64url_encode(std::string_view("[1]")) + "." + p.payload + "."
            + p.signature));
  CHECK(bad(base64url_encode(std::string_view("{\"alg\":")) + "." + p.payload
            + "." + p.signature));
  // Duplicate member names could be read differently by another parser.
  CHECK(bad(base64url_encode("{\"alg\":\"ES256\",\"kid\":\"" + keys[0].kid()
                             + "\",\"alg\":\"ES256\"}")
            + "." + p.payload + "." + p.signature));
  CHECK(bad(base64url_encode(json{
                {"alg", "ES256"}, {"kid", keys[0].kid()}, {"crit", {"exp"}}}
                                 .dump())
            + "." + p.payload + "." + p.signature));
}

TEST_CASE("a validly signed payload with duplicate claims is malformed",
          "[auth][jws]") {
  // sign_jws cannot emit duplicates, so sign the raw bytes with Ed25519
  // (whose signatures need no conversion) straight through OpenSSL.
  auto keys = one_key(jws_alg::eddsa);
  auto header
      = base64url_encode(json{{"alg", "EdDSA"}, {"kid", keys[0].kid()}}.dump());
  auto claims = sample_claims().dump();
  claims.insert(1, "\"sub\":\"admin\",");
  auto input = header + "." + base64url_encode(claims);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestSignInit_ex(ctx, nullptr, nullptr, nullptr, nullptr,
                                keys[0].native_handle(), nullptr)
          == 1);
  bytes sig(64);
  std::size_t len = sig.size();
  REQUIRE(EVP_DigestSign(ctx, sig.data(), &len,
                         reinterpret_cast<const unsigned char*>(input.data()),
                         input.size())
          == 1);
  EVP_MD_CTX_free(ctx);
  auto r = verify_jws(input + "." + base64url_encode(sig), keys,
                      options_for(jws_alg::eddsa));
  REQUIRE_FALSE(r);
  CHECK(r.err() == jws_errc::malformed);
}

TEST_CASE("PyJWT accepts our ES256 tokens and rejects a tampered one",
          "[auth][jws][interop]") {
  auto key = signing_key::generate(jws_alg::es256);
  // PyJWT checks exp and iat against the real clock, so use it here.
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto token = sign_jws(json::object(), sample_claims(now, 900), key);
  char dir_template[] = "/tmp/authsvc-jwt-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  std::string dir = dir_template;
  {
    std::ofstream(dir + "/jwk.json") << key.public_jwk().dump();
    std::ofstream(dir + "/check.py")
        << "import json, sys, jwt\n"
           "jwk = json.load(open(sys.argv[1]))\n"
           "try:\n"
           "    c = jwt.decode(sys.argv[2], jwt.PyJWK(jwk).key,\n"
           "                   algorithms=['ES256'], audience=sys.argv[3],\n"
           "                   issuer=sys.argv[4])\n"
           "    print('ok ' + c['sub'] + ' ' + ','.join(c['amr']))\n"
           "except Exception as e:\n"
           "    print('rejected ' + type(e).__name__)\n";
  }
  auto check = [&](const std::string& t) {
    return run_command("/usr/bin/python3 " + dir + "/check.py " + dir
                       + "/jwk.json '" + t
                       + "' passwordless-auth https://auth.example.com 2>&1");
  };
  CHECK(check(token) == "ok user-42 webauthn");
  auto p = split(token);
  auto claims = sample_claims(now, 900);
  claims["sub"] = "admin";
  p.payload = base64url_encode(claims.dump());
  CHECK(check(p.join()) == "rejected InvalidSignatureError");
  std::remove((dir + "/jwk.json").c_str());
  std::remove((dir + "/check.py").c_str());
  ::rmdir(dir.c_str());
}
