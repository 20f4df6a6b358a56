// Number matching and the display of requester-controlled text for the
// cross-device email sign-in (auth/cross_device.hpp).
#include <catch2/catch.hpp>

#include <set>

#include "auth/cross_device.hpp"

using namespace authsvc::auth;

TEST_CASE("match numbers have two digits and cover the whole range",
          "[auth][cross_device]") {
  std::set<int> seen;
  for (int i = 0; i < 3000; ++i) {
    auto n = generate_match_number();
    REQUIRE(n >= 10);
    REQUIRE(n <= 99);
    seen.insert(n);
  }
  CHECK(seen.size() == 90);
}

TEST_CASE("match choices hold the number and two distinct decoys in any place",
          "[auth][cross_device]") {
  std::array<int, 3> places{};
  for (int i = 0; i < 600; ++i) {
    auto n = generate_match_number();
    auto c = make_match_choices(n);
    std::set<int> unique(c.begin(), c.end());
    REQUIRE(unique.size() == 3);
    REQUIRE(unique.count(n) == 1);
    for (std::size_t p = 0; p < c.size(); ++p) {
      CHECK(c[p] >= 10);
      CHECK(c[p] <= 99);
      if (c[p] == n)
        ++places[p];
    }
  }
  for (auto count : places)
    CHECK(count > 120); // about 200 each
}

TEST_CASE("match choices survive storage and bad stored text is refused",
          "[auth][cross_device]") {
  std::array<int, 3> c{42, 17, 88};
  CHECK(encode_match_choices(c) == "42,17,88");
  CHECK(decode_match_choices("42,17,88") == c);
  for (auto bad : {"", "42,17", "42,17,88,", "42,17,8", "42;17;88", "04,17,88",
                   "42,17,888", "a2,17,88", "42, 17,88"})
    CHECK_FALSE(decode_match_choices(bad));
}

TEST_CASE("a user agent is shown as printable ASCII, collapsed and cut",
          "[auth][cross_device]") {
  CHECK(display_user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
        == "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0");
  CHECK(display_user_agent("") == "");
  CHECK(display_user_agent("\t\x01 \x7f") == "");
  CHECK(display_user_agent("  Evil\tBrowser\x1b[31m  x ")
        == "Evil Browser [31m x");
  // U+202E RIGHT-TO-LEFT OVERRIDE and the C1 control CSI (U+009B) in UTF-8.
  CHECK(display_user_agent("a\xe2\x80\xae"
                           "b\xc2\x9b"
                           "c")
        == "abc");
  std::string long_text = "Start " + std::string(500, 'A') + " end";
  auto shown = display_user_agent(long_text);
  CHECK(shown.size() == display_user_agent_max);
  CHECK(shown.rfind("Start AAAA", 0) == 0);
  CHECK(shown.substr(shown.size() - 3) == "...");
  CHECK(display_user_agent(std::string(100, 'b')) == std::string(100, 'b'));
  CHECK(display_user_agent(std::string(101, 'b'))
        == std::string(97, 'b') + "...");
  CHECK(display_user_agent("abcdef ghij", 8) == "abcde...");
  CHECK(display_user_agent("abcd efghij", 8) == "abcd...");
}
