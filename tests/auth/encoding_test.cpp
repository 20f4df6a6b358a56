#include <catch2/catch.hpp>

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"

using namespace authsvc::auth;

TEST_CASE("base64url matches the RFC 4648 test vectors", "[auth][encoding]") {
  // RFC 4648 §10, with the url alphabet and no padding.
  CHECK(base64url_encode(std::string_view("")) == "");
  CHECK(base64url_encode(std::string_view("f")) == "Zg");
  CHECK(base64url_encode(std::string_view("fo")) == "Zm8");
  CHECK(base64url_encode(std::string_view("foo")) == "Zm9v");
  CHECK(base64url_encode(std::string_view("foobar")) == "Zm9vYmFy");
  CHECK(base64_encode(std::string_view("fooba")) == "Zm9vYmE=");
  CHECK(to_string(*base64url_decode("Zm9vYmE")) == "fooba");
  CHECK(to_string(*base64url_decode("Zm9vYmE=")) == "fooba");
  CHECK(to_string(*base64_decode("Zm9vYg==")) == "foob");
}

TEST_CASE("malformed base64 is rejected, not guessed", "[auth][encoding]") {
  CHECK_FALSE(base64url_decode("Zm9v!"));
  CHECK_FALSE(base64url_decode("Z"));
  CHECK_FALSE(base64url_decode("Zm+v")); // '+' is not in the url alphabet
  CHECK_FALSE(base64url_decode("Zh"));   // non-zero trailing bits
  CHECK_FALSE(hex_decode("abc"));
  CHECK_FALSE(hex_decode("zz"));
  CHECK(hex_encode(*hex_decode("DEADbeef")) == "deadbeef");
}

TEST_CASE("sha256 and hmac match published vectors", "[auth][crypto]") {
  CHECK(hex_encode(sha256(std::string_view("abc")))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?"))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("constant-time comparison and randomness", "[auth][crypto]") {
  CHECK(constant_time_equal(std::string_view("abc"), std::string_view("abc")));
  CHECK_FALSE(
      constant_time_equal(std::string_view("abc"), std::string_view("abd")));
  CHECK_FALSE(
      constant_time_equal(std::string_view("abc"), std::string_view("ab")));
  CHECK(random_bytes(32).size() == 32);
  CHECK(random_token(32) != random_token(32));
  for (int i = 0; i < 1000; ++i)
    CHECK(random_below(10) < 10);
}
