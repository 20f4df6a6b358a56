#include <catch2/catch.hpp>

#include "auth/crypto.hpp"
#include "auth/secret_box.hpp"

using namespace authsvc::auth;

TEST_CASE("a sealed secret opens with the same key and aad",
          "[auth][secret_box]") {
  auto key = random_bytes(secret_box::key_size);
  auto plain = to_bytes("JBSWY3DPEHPK3PXP totp secret");
  auto box = secret_box::seal(key, plain, "totp:user-1");
  CHECK(box.size() == plain.size() + secret_box::overhead);
  CHECK(box[0] == secret_box::version);
  CHECK(secret_box::open(key, box, "totp:user-1") == plain);
  SECTION("the nonce is fresh each time") {
    CHECK(secret_box::seal(key, plain, "totp:user-1") != box);
  }
  SECTION("empty plaintext and empty aad work") {
    auto empty = secret_box::seal(key, {});
    CHECK(secret_box::open(key, empty) == bytes{});
  }
}

TEST_CASE("a sealed secret does not open with a wrong key, aad or bit",
          "[auth][secret_box]") {
  auto key = random_bytes(secret_box::key_size);
  auto plain = to_bytes("signing key bytes");
  auto box = secret_box::seal(key, plain, "kid-1");
  CHECK_FALSE(secret_box::open(random_bytes(32), box, "kid-1"));
  CHECK_FALSE(secret_box::open(key, box, "kid-2"));
  CHECK_FALSE(secret_box::open(key, box));
  for (std::size_t i = 0; i < box.size(); ++i) {
    auto flipped = box;
    flipped[i] ^= 0x01;
    INFO("flipped byte " << i);
    CHECK_FALSE(secret_box::open(key, flipped, "kid-1"));
  }
  CHECK_FALSE(
      secret_box::open(key, bytes(box.begin(), box.end() - 1), "kid-1"));
  CHECK_FALSE(secret_box::open(key, bytes(5, 1), "kid-1"));
  CHECK_FALSE(secret_box::open(bytes(16, 0), box, "kid-1"));
  CHECK_THROWS_AS(secret_box::seal(bytes(16, 0), plain), std::invalid_argument);
}

TEST_CASE("derived keys depend on the master key and the purpose",
          "[auth][secret_box]") {
  auto a = secret_box::derive_key("master secret", "signing-keys");
  CHECK(a.size() == 32);
  CHECK(a == secret_box::derive_key("master secret", "signing-keys"));
  CHECK(a != secret_box::derive_key("master secret", "totp-secrets"));
  CHECK(a != secret_box::derive_key("master secret!", "signing-keys"));
  auto box = secret_box::seal(a, to_bytes("x"));
  CHECK_FALSE(secret_box::open(
      secret_box::derive_key("master secret", "totp-secrets"), box));
  CHECK_THROWS_AS(secret_box::derive_key("", "x"), std::invalid_argument);
}
