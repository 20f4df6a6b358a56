// Recovery codes and numeric one-time codes.
#include <catch2/catch.hpp>

#include <array>
#include <set>

#include "auth/otp_code.hpp"
#include "auth/recovery_codes.hpp"

using namespace authsvc::auth;

TEST_CASE("recovery codes use the unambiguous alphabet and format",
          "[auth][recovery]") {
  auto codes = generate_recovery_codes();
  REQUIRE(codes.size() == 10);
  std::set<std::string> unique(codes.begin(), codes.end());
  CHECK(unique.size() == codes.size());
  for (const auto& c : codes) {
    INFO(c);
    REQUIRE(c.size() == 11);
    CHECK(c[5] == '-');
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (i == 5)
        continue;
      CHECK(recovery_code_alphabet.find(c[i]) != std::string_view::npos);
    }
    CHECK(c.find_first_of("0oO1iIlL") == std::string::npos);
    CHECK(is_well_formed_recovery_code(c));
  }
  CHECK(generate_recovery_codes(3).size() == 3);
  // The alphabet itself has none of the ambiguous symbols.
  CHECK(recovery_code_alphabet.find_first_of("0oO1iIlL")
        == std::string_view::npos);
}

TEST_CASE("recovery codes are normalized before hashing", "[auth][recovery]") {
  CHECK(normalize_recovery_code(" AbCdE-fGhJk ") == "abcdefghjk");
  CHECK(normalize_recovery_code("abcde fghjk") == "abcdefghjk");
  const std::string pepper = "server pepper";
  auto h = hash_recovery_code(pepper, "abcde-fghjk");
  CHECK(h.size() == 64);
  CHECK(hash_recovery_code(pepper, "ABCDEFGHJK") == h);
  CHECK(recovery_code_matches(pepper, "abcde fghjk", h));
  CHECK_FALSE(recovery_code_matches(pepper, "abcde-fghjm", h));
  CHECK_FALSE(recovery_code_matches("other pepper", "abcde-fghjk", h));
  CHECK_FALSE(is_well_formed_recovery_code("abcde-fghj"));
  CHECK_FALSE(is_well_formed_recovery_code("abcde-fghj0"));
}

TEST_CASE("numeric codes are uniform, fixed-length and keep leading zeros",
          "[auth][otp_code]") {
  std::array<int, 10> first_digit{};
  bool leading_zero = false;
  for (int i = 0; i < 5000; ++i) {
    auto c = generate_otp_code();
    REQUIRE(c.size() == 6);
    REQUIRE(c.find_first_not_of("0123456789") == std::string::npos);
    ++first_digit[static_cast<std::size_t>(c[0] - '0')];
    leading_zero = leading_zero || c[0] == '0';
  }
  CHECK(leading_zero);
  // Each leading digit expects 500 hits; 300 is far outside chance.
  for (int n : first_digit)
    CHECK(n > 300);
  CHECK(generate_otp_code(8).size() == 8);
}

TEST_CASE("numeric code hashes are keyed and bound to their flow",
          "[auth][otp_code]") {
  auto h1 = hash_otp_code("server key", "flow-1", "123456");
  CHECK(h1.size() == 64);
  CHECK(h1 == hash_otp_code("server key", "flow-1", "123456"));
  CHECK(h1 != hash_otp_code("server key", "flow-2", "123456"));
  CHECK(h1 != hash_otp_code("other key", "flow-1", "123456"));
  CHECK(hash_otp_code("k", "ab", "1") != hash_otp_code("k", "a", "b1"));
  CHECK(verify_otp_code("server key", "flow-1", "123456", h1));
  CHECK_FALSE(verify_otp_code("server key", "flow-1", "123457", h1));
  CHECK_FALSE(verify_otp_code("server key", "flow-2", "123456", h1));
}
