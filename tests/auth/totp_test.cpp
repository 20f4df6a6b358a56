// TOTP/HOTP against RFC 4226 Appendix D, RFC 6238 Appendix B, RFC 4648 §10
// (base32) and the independent oathtool implementation.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <ctime>

#include "auth/base32.hpp"
#include "auth/crypto.hpp"
#include "auth/totp.hpp"
#include "tests/run_command.hpp"

using authsvc::testing::run_command;

using namespace authsvc::auth;

TEST_CASE("base32 matches the RFC 4648 test vectors", "[auth][base32]") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (auto [plain, encoded] : vectors) {
    CHECK(base32_encode(to_bytes(plain)) == encoded);
    CHECK(base32_decode(encoded) == to_bytes(plain));
  }
  SECTION("padding, lower case and spaces are tolerated") {
    CHECK(base32_decode("MZXW6YTBOI======") == to_bytes("foobar"));
    CHECK(base32_decode("MY======") == to_bytes("f"));
    CHECK(base32_decode("mzxw 6ytb oi") == to_bytes("foobar"));
  }
  SECTION("malformed input is rejected") {
    CHECK_FALSE(base32_decode("MZXW1")); // '1' is not in the alphabet
    CHECK_FALSE(base32_decode("MZXW8"));
    CHECK_FALSE(base32_decode("MZ-W6"));
    CHECK_FALSE(base32_decode("M"));      // 1 symbol: impossible length
    CHECK_FALSE(base32_decode("MZX"));    // 3 symbols: impossible length
    CHECK_FALSE(base32_decode("MZ=XW6")); // data after padding
    CHECK_FALSE(base32_decode("MZ"));     // non-zero trailing bits
  }
}

TEST_CASE("HOTP matches RFC 4226 Appendix D", "[auth][totp]") {
  const auto secret = to_bytes("12345678901234567890");
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t i = 0; i < 10; ++i)
    CHECK(hotp(secret, i) == expected[i]);
  CHECK(hotp(secret, 0, 5).empty()); // fewer than 6 digits is refused
}

TEST_CASE("TOTP matches RFC 6238 Appendix B", "[auth][totp]") {
  const auto sha1_key = to_bytes("12345678901234567890");
  const auto sha256_key = to_bytes("12345678901234567890123456789012");
  const auto sha512_key = to_bytes(
      "1234567890123456789012345678901234567890123456789012345678901234");
  struct row {
    std::int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const row rows[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const auto& r : rows) {
    INFO("time " << r.time);
    CHECK(totp(sha1_key, r.time, {otp_hash::sha1, 8}) == r.sha1);
    CHECK(totp(sha256_key, r.time, {otp_hash::sha256, 8}) == r.sha256);
    CHECK(totp(sha512_key, r.time, {otp_hash::sha512, 8}) == r.sha512);
    CHECK(
        verify_totp(sha512_key, r.sha512, r.time, 0, {}, {otp_hash::sha512, 8})
        == totp_step(r.time));
  }
}

TEST_CASE("a TOTP code is accepted within one step of skew and not beyond",
          "[auth][totp]") {
  const auto secret = to_bytes("12345678901234567890");
  const std::int64_t now = 1'700'000'000;
  const auto step = *totp_step(now);
  CHECK(verify_totp(secret, totp(secret, now), now) == step);
  CHECK(verify_totp(secret, totp(secret, now - 30), now) == step - 1);
  CHECK(verify_totp(secret, totp(secret, now + 30), now) == step + 1);
  CHECK_FALSE(verify_totp(secret, totp(secret, now - 60), now));
  CHECK_FALSE(verify_totp(secret, totp(secret, now + 60), now));
  CHECK(verify_totp(secret, totp(secret, now - 60), now, 2) == step - 2);
}

TEST_CASE("a TOTP code cannot be replayed", "[auth][totp]") {
  const auto secret = generate_totp_secret();
  const std::int64_t now = 1'700'000'000;
  auto code = totp(secret, now);
  auto first = verify_totp(secret, code, now);
  REQUIRE(first);
  // Same step twice: rejected.
  CHECK_FALSE(verify_totp(secret, code, now, 1, first));
  CHECK_FALSE(verify_totp(secret, code, now + 10, 1, first));
  // An older step after a newer one was used: rejected.
  CHECK_FALSE(verify_totp(secret, totp(secret, now - 30), now, 1, first));
  // The next step is still fine.
  CHECK(verify_totp(secret, totp(secret, now + 30), now + 30, 1, first)
        == *first + 1);
}

TEST_CASE("malformed TOTP codes are rejected", "[auth][totp]") {
  const auto secret = to_bytes("12345678901234567890");
  const std::int64_t now = 59;
  auto code = totp(secret, now);
  CHECK(verify_totp(secret, code, now));
  CHECK_FALSE(verify_totp(secret, " " + code, now));
  CHECK_FALSE(verify_totp(secret, code.substr(1), now));
  CHECK_FALSE(verify_totp(secret, code + "0", now));
  CHECK_FALSE(verify_totp(secret, "abcdef", now));
  CHECK_FALSE(verify_totp(secret, "", now));
  CHECK_FALSE(verify_totp(secret, code, -1));
}

TEST_CASE("the otpauth URI percent-encodes issuer and label", "[auth][totp]") {
  CHECK(otpauth_uri("ACME Co", "alice@example.com", "JBSWY3DPEHPK3PXP")
        == "otpauth://totp/ACME%20Co:alice%40example.com?secret="
           "JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6"
           "&period=30");
  CHECK(otpauth_uri("", "bob", "AAAA", {otp_hash::sha256, 8, 60})
        == "otpauth://totp/bob?secret=AAAA&algorithm=SHA256&digits=8"
           "&period=60");
  CHECK(percent_encode("a:b/c?d&e=f#g+h~i.j_k-l\xc3\xa9")
        == "a%3Ab%2Fc%3Fd%26e%3Df%23g%2Bh~i.j_k-l%C3%A9");
}

namespace {

std::string utc_string(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

} // namespace

TEST_CASE("codes agree with oathtool for random secrets and times",
          "[auth][totp][interop]") {
  for (int i = 0; i < 5; ++i) {
    auto secret = generate_totp_secret();
    auto b32 = base32_encode(secret);
    // Random times between 2001 and 2033.
    std::int64_t now = 1'000'000'000
                       + static_cast<std::int64_t>(random_below(1'000'000'000));
    auto theirs = run_command("oathtool --totp -b --now '" + utc_string(now)
                              + "' " + b32 + " 2>&1");
    INFO("secret " << b32 << " at " << utc_string(now));
    REQUIRE(theirs.size() == 6);
    CHECK(totp(secret, now) == theirs);
    CHECK(verify_totp(secret, theirs, now) == totp_step(now));
    CHECK(verify_totp(secret, theirs, now + 30) == totp_step(now));
  }
  SECTION("the fixed date from the brief, with SHA-256 and 8 digits") {
    auto secret = generate_totp_secret(32);
    auto b32 = base32_encode(secret);
    auto theirs = run_command("oathtool --totp=sha256 --digits=8 -b --now "
                              "'2020-01-01 00:00:00 UTC' "
                              + b32 + " 2>&1");
    CHECK(totp(secret, 1577836800, {otp_hash::sha256, 8}) == theirs);
  }
}
